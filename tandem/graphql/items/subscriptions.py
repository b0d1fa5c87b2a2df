"""`itemChanged`: item events as they commit, from whichever process made the change.

Over graphql-transport-ws or graphql-sse; the router (tandem/graphql/router.py)
carries the token, the origin check and the per-connection limit. Each event's
item is the item as the change left it, shown with the subscriber's own
visibility at that moment (tandem/domain/realtime).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from tandem.domain import global_ids
from tandem.domain.errors import ValidationFailed
from tandem.domain.realtime.changes import ItemChange
from tandem.graphql.context import Context, Info
from tandem.graphql.items.types import Item, OwnerLoad
from tandem.graphql.loaders import Loaders

if TYPE_CHECKING:
    from tandem.graphql.users.types import User


@strawberry.enum
class ItemEventKind(Enum):
    CREATED = "item.created"
    UPDATED = "item.updated"
    DELETED = "item.deleted"


@strawberry.type(description="A change to an item; `item` is null for DELETED.")
class ItemEvent:
    kind: ItemEventKind
    item_id: strawberry.ID
    item: Item | None
    event_id: strawberry.ID = strawberry.field(
        description="The event's id (`evt_…`), as GET /api/v1/events and webhooks show it."
    )
    cursor: str = strawberry.field(
        description="Pass it as `itemChanged(after:)` to resume after this event, or as "
        "GET /api/v1/events?after= to read on from it."
    )


class SharedOwner(OwnerLoad):
    """An event's owner: the one the fan-out loaded with the event's batch, or else loaded
    once for all of a process's subscribers that select it.

    The owner's public fields are the same for every signed-in subscriber, and what
    is private (`email`) is decided when each subscriber's own query resolves it.
    Fresh loaders per event: a long subscription must not keep a cache forever.
    """

    __slots__ = ("_change",)

    def __init__(self, context: Context, change: ItemChange) -> None:
        assert change.item is not None
        super().__init__(Loaders(context.services, context.principal), change.item.owner_id)
        self._change = change

    async def _load(self) -> User:
        if self._change.owner is not None:  # loaded with the event's batch (the usual case)
            from tandem.graphql.users.types import User

            return User.of(self._change.owner)
        loading = _owners.get(self._change)
        if loading is None:
            loading = asyncio.ensure_future(super()._load())
            _owners[self._change] = loading
        return await asyncio.shield(loading)


_owners: weakref.WeakKeyDictionary[ItemChange, asyncio.Future[User]] = weakref.WeakKeyDictionary()


@strawberry.type
class ItemSubscriptions:
    @strawberry.subscription(
        description="Items created, updated and deleted, as they commit, that you may see; "
        "`ownerId` narrows them to one owner's items. With `after` (an event's `cursor`, "
        "or any event id GET /api/v1/events lists), the events you may see that committed "
        "after it come first, then the live ones, with no gap and no duplicate."
    )
    async def item_changed(
        self, info: Info, owner_id: strawberry.ID | None = None, after: str | None = None
    ) -> AsyncGenerator[ItemEvent, None]:
        owner = None
        if owner_id is not None:
            owner = global_ids.decode_as(owner_id, "User")
            if owner is None:
                raise ValidationFailed.one(("ownerId",), "is not the id of a User", "id")
        context = info.context
        changes = context.services.subscriptions.item_changes(
            context.principal, token=context.token, owner_id=owner, after=after
        )
        async for change in changes:
            item = None
            if change.item is not None:
                item = Item.of(change.item, SharedOwner(context, change))
            yield ItemEvent(
                kind=ItemEventKind(str(change.type)),
                item_id=strawberry.ID(global_ids.encode("Item", change.item_id)),
                item=item,
                event_id=strawberry.ID(change.event_id),
                cursor=change.event_id,
            )
