"""Item use cases: read, list, create, change and delete, with visibility and ownership rules.

Visibility is decided in SQL by `visible_to`, so an item the caller may not see
is simply not found; ownership is decided here, so one it may see but not
change is FORBIDDEN. Every change appends its event to the outbox in the same
transaction (tandem/persistence/events/repository.py).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tandem.domain.errors import Forbidden, InvalidToken, NotFound, PreconditionFailed
from tandem.domain.events.documents import item_event
from tandem.domain.events.records import EventType
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.items.commands import CreateItem, UpdateItem
from tandem.domain.items.listing import ItemLists
from tandem.domain.items.records import ItemRecord
from tandem.domain.items.rules import clean_item_fields
from tandem.domain.principal import ITEMS_READ, ITEMS_WRITE, Principal, signed_in
from tandem.domain.store import UnitOfWork
from tandem.domain.users.records import UserRecord

STALE = "The item has changed since you read it (version {current}); read it again."


def _not_found(item_id: int) -> NotFound:
    return NotFound.missing("item", item_id)


def _check_owner(caller: Principal, item: ItemRecord) -> None:
    if item.owner_id != caller.user_id and not caller.is_admin:
        raise Forbidden("Only the item's owner or an administrator may change it.")


class ItemService(ItemLists):
    def __init__(self, *, database: ScopedStore) -> None:
        self._database = database

    async def get(self, principal: Principal | None, item_id: int) -> ItemRecord:
        caller = signed_in(principal, scope=ITEMS_READ)
        async with self._database.reader() as uow:
            item = await uow.items.get_visible(item_id, caller.viewer)
        if item is None:
            raise _not_found(item_id)
        return item

    async def get_with_owner(
        self, principal: Principal | None, item_id: int
    ) -> tuple[ItemRecord, UserRecord]:
        """`get`, and the item's owner from the same statement, for callers that show both."""
        caller = signed_in(principal, scope=ITEMS_READ)
        async with self._database.reader() as uow:
            found = await uow.items.get_visible_with_owner(item_id, caller.viewer)
        if found is None:
            raise _not_found(item_id)
        return found

    async def get_many(self, principal: Principal | None, item_ids: list[int]) -> list[ItemRecord]:
        """The visible items among `item_ids`, for batch loaders; unseen ones are left out."""
        caller = signed_in(principal, scope=ITEMS_READ)
        async with self._database.reader() as uow:
            return await uow.items.get_many_visible(item_ids, caller.viewer)

    async def create(self, principal: Principal | None, command: CreateItem) -> ItemRecord:
        """Create an item owned by the caller, whoever the request claims should own it."""
        caller = signed_in(principal, scope=ITEMS_WRITE)
        given = {name: value for name, value in asdict(command).items() if value is not None}
        values = clean_item_fields(given)  # what is left out takes the column's default
        async with self._database.transaction() as uow:
            item = await uow.items.add(owner_id=caller.user_id, values=values)
            if item is None:  # the account was deleted while this request ran
                raise InvalidToken("The account this token belongs to no longer exists.")
            await uow.events.append(item_event(EventType.ITEM_CREATED, item))
            return item

    async def update(
        self,
        principal: Principal | None,
        item_id: int,
        command: UpdateItem,
        *,
        expected_version: int | None = None,
    ) -> ItemRecord:
        """Change an item; with `expected_version`, only if nobody changed it since."""
        caller = signed_in(principal, scope=ITEMS_WRITE)
        values = clean_item_fields(asdict(command))
        async with self._database.transaction() as uow:
            item = await _writable(uow, caller, item_id, expected_version)
            changes = _changes(item, values)
            if not changes:
                return item
            updated = await uow.items.update(item_id, expected_version=item.version, values=changes)
            if updated is None:  # changed between our read and our write
                raise PreconditionFailed(STALE.format(current="newer"))
            await uow.events.append(item_event(EventType.ITEM_UPDATED, updated))
            return updated

    async def delete(
        self, principal: Principal | None, item_id: int, *, expected_version: int | None = None
    ) -> ItemRecord:
        """Delete an item and return what it was (webhooks and events need its ids)."""
        caller = signed_in(principal, scope=ITEMS_WRITE)
        async with self._database.transaction() as uow:
            item = await _writable(uow, caller, item_id, expected_version)
            if not await uow.items.delete(item_id, expected_version=item.version):
                raise PreconditionFailed(STALE.format(current="newer"))
            await uow.events.append(item_event(EventType.ITEM_DELETED, item))
            return item


async def _writable(
    uow: UnitOfWork, caller: Principal, item_id: int, expected_version: int | None
) -> ItemRecord:
    """The item, locked, if the caller may change it and it is still at `expected_version`.

    Locked first: a concurrent writer finishes before we compare against its result.
    An item already gone fails a precondition rather than being "not found" (RFC 9110
    §13.1.1: If-Match is false when there is no current representation); an item the
    caller may not see answers the same, so nothing is revealed.
    """
    item = await uow.items.get_visible(item_id, caller.viewer, for_update=True)
    if item is None:
        if expected_version is not None:
            raise PreconditionFailed(f"Item {item_id} no longer exists; If-Match cannot hold.")
        raise _not_found(item_id)
    _check_owner(caller, item)
    if expected_version is not None and expected_version != item.version:
        raise PreconditionFailed(STALE.format(current=item.version))
    return item


def _changes(item: ItemRecord, values: dict[str, Any]) -> dict[str, Any]:
    """Only what really differs: an update that changes nothing keeps the version."""
    return {name: value for name, value in values.items() if getattr(item, name) != value}
