"""In-memory implementations of the domain's storage ports, for use-case tests in seconds.

In the spirit of cosmicpython's `FakeUnitOfWork`: `FakeStore` is a `ScopedStore`
whose units of work hold repositories over plain dicts. A transaction works on a
copy of the state and puts it back only when its block ends without an error, so a
use case that fails leaves nothing behind, as PostgreSQL would. The rules that live
in SQL (visibility, filters, orders, keyset positions) are written here again, in
Python, from the same definitions (`ItemFilters`, `sort_value`); tests/persistence
proves the statements against a real database.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tandem.domain.events.records import EventRecord, NewEvent, Position
from tandem.domain.items.records import (
    FILTERS,
    ItemFilters,
    ItemRecord,
    ItemSort,
    ItemStatus,
    Keyset,
    sort_value,
)
from tandem.domain.items.rules import search_terms
from tandem.domain.pages import EVERYTHING, Reads, Rows
from tandem.domain.principal import Viewer
from tandem.domain.users.records import UserRecord
from tests.factories import item_record

UNSUPPORTED = "not used by the use cases these fakes serve"


@dataclass
class State:
    """Everything the fakes store; a transaction works on a deep copy of it."""

    users: dict[int, UserRecord] = field(default_factory=dict)
    items: dict[int, ItemRecord] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)
    next_item_id: int = 1


def _visible(item: ItemRecord, viewer: Viewer) -> bool:
    """The draft rule, as `lists.visible_to` writes it in SQL."""
    return viewer.is_admin or item.status != ItemStatus.DRAFT or item.owner_id == viewer.user_id


def _matches(item: ItemRecord, filters: ItemFilters) -> bool:
    """Every filter given holds, as the table in `ItemFilters` says."""
    for entry in FILTERS:
        value = getattr(filters, entry.name)
        if value is None:
            continue
        if entry.test == "search":
            text = f"{item.title} {item.description or ''}".casefold()
            if not all(term.casefold() in text for term in search_terms(value)):
                return False
        elif entry.test == "contains":
            if value not in getattr(item, entry.column or entry.name):
                return False
        elif getattr(item, entry.column or entry.name) != value:
            return False
    return True


class FakeItems:
    def __init__(self, state: State) -> None:
        self._state = state

    def _listed(self, viewer: Viewer, filters: ItemFilters, sort: ItemSort) -> list[ItemRecord]:
        found = [
            dataclasses.replace(item, rank=1.0) if sort is ItemSort.RELEVANCE else item
            for item in self._state.items.values()
            if _visible(item, viewer) and _matches(item, filters)
        ]
        found.sort(key=lambda item: (sort_value(item, sort), item.id), reverse=sort.descending)
        return found

    def _owners(self, items: list[ItemRecord], owners: bool) -> dict[int, Any]:
        if not owners:
            return {}
        return {item.owner_id: self._state.users[item.owner_id] for item in items}

    async def get_visible(
        self, item_id: int, viewer: Viewer, *, for_update: bool = False
    ) -> ItemRecord | None:
        item = self._state.items.get(item_id)
        return item if item is not None and _visible(item, viewer) else None

    async def get_visible_with_owner(
        self, item_id: int, viewer: Viewer
    ) -> tuple[ItemRecord, UserRecord] | None:
        item = await self.get_visible(item_id, viewer)
        return None if item is None else (item, self._state.users[item.owner_id])

    async def get_many_visible(self, item_ids: list[int], viewer: Viewer) -> list[ItemRecord]:
        return [item for i in item_ids if (item := await self.get_visible(i, viewer))]

    async def count(self, viewer: Viewer, filters: ItemFilters) -> int:
        return len(self._listed(viewer, filters, ItemSort.CREATED_AT_DESC))

    async def offset_page(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        *,
        sort: ItemSort,
        offset: int,
        limit: int,
        owners: bool = False,
    ) -> Rows[ItemRecord]:
        items = self._listed(viewer, filters, sort)[offset : offset + limit]
        return Rows(items, owners=self._owners(items, owners))

    async def keyset_page(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        *,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
        backward: bool = False,
        look_behind: bool = False,
        owners: bool = False,
        reads: Reads = EVERYTHING,
    ) -> Rows[ItemRecord]:
        # Whole records: a store may read more than `reads` names.
        listed = self._listed(viewer, filters, sort)
        if position is None:
            ahead, behind = (listed[::-1] if backward else listed), []
        else:
            keys = [(sort_value(item, sort), item.id) for item in listed]
            mark = (position.value, position.id)
            later = [
                item for item, key in zip(listed, keys, strict=True) if _after(key, mark, sort)
            ]
            earlier = [item for item in listed if item not in later]
            ahead, behind = (earlier[::-1], later) if backward else (later, earlier[::-1])
        items = ahead[:limit]
        return Rows(items, behind=look_behind and bool(behind), owners=self._owners(items, owners))

    async def keyset_pages_by_owner(
        self,
        viewer: Viewer,
        owner_ids: list[int],
        filters: ItemFilters,
        *,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
        backward: bool = False,
        look_behind: bool = False,
    ) -> dict[int, Rows[ItemRecord]]:
        return {
            owner_id: await self.keyset_page(
                viewer,
                dataclasses.replace(filters, owner_id=owner_id),
                sort=sort,
                position=position,
                limit=limit,
                backward=backward,
                look_behind=look_behind,
            )
            for owner_id in owner_ids
        }

    async def count_by_owner(
        self, viewer: Viewer, owner_ids: list[int], filters: ItemFilters
    ) -> dict[int, int]:
        return {
            owner_id: await self.count(viewer, dataclasses.replace(filters, owner_id=owner_id))
            for owner_id in owner_ids
        }

    async def add(self, *, owner_id: int, values: dict[str, Any]) -> ItemRecord | None:
        if owner_id not in self._state.users:
            return None
        item = item_record(now=_now(), **values, id=self._state.next_item_id, owner_id=owner_id)
        self._state.items[item.id] = item
        self._state.next_item_id += 1
        return item

    async def update(
        self, item_id: int, *, expected_version: int, values: dict[str, Any]
    ) -> ItemRecord | None:
        item = self._state.items.get(item_id)
        if item is None or item.version != expected_version:
            return None
        changed = dataclasses.replace(item, **values, version=item.version + 1, updated_at=_now())
        self._state.items[item_id] = changed
        return changed

    async def delete(self, item_id: int, *, expected_version: int | None) -> bool:
        item = self._state.items.get(item_id)
        if item is None or (expected_version is not None and item.version != expected_version):
            return False
        del self._state.items[item_id]
        return True


def _after(key: tuple[Any, int], mark: tuple[Any, int], sort: ItemSort) -> bool:
    """Whether a row's (sort value, id) lies after the position in the list's order."""
    return key < mark if sort.descending else key > mark


_clock = itertools.count()


def _now() -> datetime:
    """A moment later than the last one: lists by creation have a strict order here."""
    return datetime(2026, 12, 1, tzinfo=UTC).replace(microsecond=next(_clock) % 1_000_000)


class FakeEvents:
    def __init__(self, state: State) -> None:
        self._state = state

    async def append(self, event: NewEvent) -> None:
        self._state.events.append(
            EventRecord(
                id=event.public_id,
                type=event.type,
                item_id=event.item_id,
                owner_id=event.owner_id,
                draft=event.draft,
                data=copy.deepcopy(event.data),
                created_at=_now(),
                position=Position(txid=1, seq=len(self._state.events) + 1),
            )
        )

    async def append_owner_deletions(self, owner_id: int) -> None:
        raise NotImplementedError(UNSUPPORTED)

    def _sees(self, event: EventRecord, viewer: Viewer) -> bool:
        return viewer.is_admin or not event.draft or event.owner_id == viewer.user_id

    async def visible_page(
        self,
        viewer: Viewer,
        *,
        after: Position | None,
        types: Sequence[str] | None,
        limit: int,
    ) -> list[EventRecord]:
        return [
            event
            for event in self._state.events
            if self._sees(event, viewer)
            and (after is None or event.position > after)
            and (types is None or event.type in types)
        ][:limit]

    async def get_visible(self, event_id: str, viewer: Viewer) -> EventRecord | None:
        for event in self._state.events:
            if event.id == event_id and self._sees(event, viewer):
                return event
        return None

    async def page(self, *, after: Position | None, limit: int) -> list[EventRecord]:
        raise NotImplementedError(UNSUPPORTED)

    async def get_many(self, event_ids: Sequence[str]) -> list[EventRecord]:
        raise NotImplementedError(UNSUPPORTED)

    async def purge(self, *, older_than: datetime, limit: int) -> int:
        raise NotImplementedError(UNSUPPORTED)


class FakeUnitOfWork:
    """The repositories the item and event use cases use, over one `State`."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.items = FakeItems(state)
        self.events = FakeEvents(state)

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"the fake unit of work has no {name!r}: {UNSUPPORTED}")


class FakeStore:
    """A `ScopedStore` in memory: transactions commit by putting their copy back."""

    def __init__(self) -> None:
        self.state = State()
        self.commits = 0

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[FakeUnitOfWork]:
        yield FakeUnitOfWork(self.state)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeUnitOfWork]:
        working = copy.deepcopy(self.state)
        yield FakeUnitOfWork(working)
        self.state = working  # only when the block ended without an error
        self.commits += 1

    def scope(self) -> Any:
        return self.transaction()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        yield  # in memory, there is no connection to share

    @property
    def store(self) -> FakeStore:
        return self

    async def is_ready(self) -> bool:
        return True
