"""Item lists: offset pages and keyset slices, both directions, with or without owners.

Visibility is decided in SQL (the repository's `visible_to`), so a list holds only
what the caller may see. Every check (scope, filters, page size, cursor) happens
before any statement runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.items import cursors
from tandem.domain.items.commands import ItemQuery
from tandem.domain.items.records import ItemFilters, ItemRecord, Keyset, sort_field
from tandem.domain.items.rules import check_query
from tandem.domain.pages import EVERYTHING, Page, Reads, Rows, Slice, Window, check_page
from tandem.domain.principal import ITEMS_READ, Principal, Viewer, signed_in

T = TypeVar("T")


def filters_of(query: ItemQuery) -> ItemFilters:
    """The query's filters (a query is its filters and an order), checked."""
    check_query(query)
    return query


def _cursor_maker(query: ItemQuery, filters: ItemFilters) -> Callable[[ItemRecord], str]:
    def cursor_of(item: ItemRecord) -> str:
        return cursors.encode(item, query.sort, filters)

    return cursor_of


def _request(
    principal: Principal | None, query: ItemQuery, window: Window
) -> tuple[Viewer, ItemFilters, Keyset | None]:
    """Who reads, what they filter on and where they start: checked before any statement."""
    caller = signed_in(principal, scope=ITEMS_READ)
    filters = filters_of(query)
    position = None
    if window.cursor:
        position = cursors.decode(window.cursor, query.sort, filters, loc=window.loc)
    return caller.viewer, filters, position


def _sliced(rows: Rows[T], window: Window, positioned: bool) -> tuple[list[T], bool, bool]:
    """A page's rows in list order, whether a page follows, whether one comes before."""
    beyond = len(rows.rows) > window.size
    page = rows.rows[: window.size]
    behind = rows.behind and positioned
    if window.backward:
        return page[::-1], behind, beyond
    return page, beyond, behind


class ItemLists:
    """The list use cases of `ItemService`."""

    _database: ScopedStore

    async def page(
        self,
        principal: Principal | None,
        query: ItemQuery,
        *,
        page: int,
        size: int,
        owners: bool = False,
    ) -> Page[ItemRecord]:
        """An offset page with its total, and the cursor that continues it; with `owners`,
        the items' owners (`Page.owners`, by id) from the same statement."""
        caller = signed_in(principal, scope=ITEMS_READ)
        filters = filters_of(query)
        check_page(page, size)
        async with self._database.reader() as uow:
            rows = await uow.items.offset_page(
                caller.viewer,
                filters,
                sort=query.sort,
                offset=(page - 1) * size,
                limit=size + 1,
                owners=owners,
            )
            total = await uow.items.count(caller.viewer, filters)
        items = rows.rows[:size]
        more = len(rows.rows) > size and bool(items)
        next_cursor = cursors.encode(items[-1], query.sort, filters) if more else None
        return Page(items, total, page, size, next_cursor, rows.owners)

    async def slice(
        self,
        principal: Principal | None,
        query: ItemQuery,
        window: Window,
        *,
        owners: bool = False,
        reads: Reads = EVERYTHING,
    ) -> Slice[ItemRecord]:
        """Keyset pagination, either way from a cursor: stable under inserts and deletes;
        with `owners`, the items' owners (`Slice.owners`, by id) from the same statement;
        of the items and owners, the fields `reads` names (and what the slice needs)."""
        viewer, filters, position = _request(principal, query, window)
        # A row's id and sort value make its cursor; its owner's id finds the owner.
        made = (sort_field(query.sort),) if reads.cursors else ()
        reads = reads.with_items("id", "owner_id", *made)
        async with self._database.reader() as uow:
            rows = await uow.items.keyset_page(
                viewer,
                filters,
                sort=query.sort,
                position=position,
                limit=window.size + 1,
                backward=window.backward,
                look_behind=window.look_behind,
                owners=owners,
                reads=reads,
            )
        items, has_more, has_previous = _sliced(rows, window, position is not None)
        cursor_of = _cursor_maker(query, filters)
        return Slice(items, cursor_of, has_more, has_previous, rows.owners)

    async def slices_by_owner(
        self,
        principal: Principal | None,
        owner_ids: list[int],
        query: ItemQuery,
        window: Window,
    ) -> dict[int, Slice[ItemRecord]]:
        """Each owner's slice from the same cursor, for a batch loader: one statement."""
        viewer, filters, position = _request(principal, query, window)
        async with self._database.reader() as uow:
            pages = await uow.items.keyset_pages_by_owner(
                viewer,
                owner_ids,
                filters,
                sort=query.sort,
                position=position,
                limit=window.size + 1,
                backward=window.backward,
                look_behind=window.look_behind,
            )
        cursor_of = _cursor_maker(query, filters)
        slices: dict[int, Slice[ItemRecord]] = {}
        for owner_id in owner_ids:
            items, has_more, has_previous = _sliced(
                pages.get(owner_id, Rows([])), window, position is not None
            )
            slices[owner_id] = Slice(items, cursor_of, has_more, has_previous)
        return slices

    async def counts_by_owner(
        self, principal: Principal | None, owner_ids: list[int], query: ItemQuery
    ) -> dict[int, int]:
        caller = signed_in(principal, scope=ITEMS_READ)
        filters = filters_of(query)
        async with self._database.reader() as uow:
            counts = await uow.items.count_by_owner(caller.viewer, owner_ids, filters)
        return {owner_id: counts.get(owner_id, 0) for owner_id in owner_ids}

    async def count(self, principal: Principal | None, query: ItemQuery) -> int:
        caller = signed_in(principal, scope=ITEMS_READ)
        filters = filters_of(query)
        async with self._database.reader() as uow:
            return await uow.items.count(caller.viewer, filters)
