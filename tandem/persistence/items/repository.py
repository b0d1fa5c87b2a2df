"""Every statement about one item, and the repository that runs them and the lists' ones.

The list statements (filters, orders, keyset positions, search) live in `lists`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from tandem.domain.items.records import ItemFilters, ItemRecord, ItemSort, Keyset
from tandem.domain.pages import EVERYTHING, Reads, Rows
from tandem.domain.principal import Viewer
from tandem.domain.users.records import UserRecord
from tandem.persistence.items import lists
from tandem.persistence.items.models import Item
from tandem.persistence.sql import Connection, Query, as_params, compile_query, settable

COLUMNS = lists.COLUMNS
_PLAIN = lists.layout()
_WITH_OWNERS = lists.layout(owners=True)
_ITEM_ID = bindparam("item_id", type_=BigInteger)


record = _PLAIN.item  # a row of the item's columns, by name (persistence/records.py)


def with_owner(row: Any) -> tuple[ItemRecord, UserRecord]:
    """A row of a statement that joined owners: the item's columns, then its owner's."""
    return _WITH_OWNERS.item(row), _WITH_OWNERS.owner(row)


@lru_cache(maxsize=8)
def _get_visible(is_admin: bool, for_update: bool, owners: bool = False) -> Query:
    layout = _WITH_OWNERS if owners else _PLAIN
    statement = lists.filtered(
        lists.selected(layout).where(Item.id == _ITEM_ID), is_admin, lists.Shape()
    )
    return compile_query(statement.with_for_update() if for_update else statement)


@lru_cache(maxsize=4)
def _get_many_visible(is_admin: bool) -> Query:
    ids = any_(bindparam("item_ids", type_=ARRAY(BigInteger)))
    statement = select(*COLUMNS).where(Item.id == ids)
    return compile_query(lists.filtered(statement, is_admin, lists.Shape()))


@lru_cache(maxsize=64)
def _add(names: tuple[str, ...]) -> Query:
    return compile_query(insert(Item).values(settable(Item.__table__, names)).returning(*COLUMNS))


@lru_cache(maxsize=64)
def _update(names: tuple[str, ...]) -> Query:
    return compile_query(
        update(Item)
        .where(Item.id == _ITEM_ID, Item.version == bindparam("expected_version", type_=Integer))
        .values(
            {
                **settable(Item.__table__, names),
                "version": Item.version + 1,
                "updated_at": func.now(),
            }
        )
        .returning(*COLUMNS)
    )


@lru_cache(maxsize=2)
def _delete(checks_version: bool) -> Query:
    statement = delete(Item).where(Item.id == _ITEM_ID)
    if checks_version:
        statement = statement.where(Item.version == bindparam("expected_version", type_=Integer))
    return compile_query(statement.returning(Item.id))


def _read(layout: lists.Layout, rows: list[Any]) -> Rows[ItemRecord]:
    """The items of a list statement's rows, whether one lay behind, and (if joined) owners,
    each owner made once however many of its items the page holds."""
    found = [row for row in rows if not row[-1]] if layout.sided else rows
    item = layout.item
    owners: dict[int, UserRecord] = {}
    if layout.owners:
        owner, at = layout.owner, layout.width  # the owner's id: its first column
        for row in found:
            if row[at] not in owners:
                owners[row[at]] = owner(row)
    return Rows([item(row) for row in found], len(found) < len(rows), owners)


def _position(position: Keyset | None) -> dict[str, Any]:
    return {} if position is None else {"after_value": position.value, "after_id": position.id}


class ItemRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def get_visible(
        self, item_id: int, viewer: Viewer, *, for_update: bool = False
    ) -> ItemRecord | None:
        """The item if the viewer may see it; `for_update` locks it until the transaction ends."""
        query = _get_visible(viewer.is_admin, for_update)
        row = await self._connection.row(query, item_id=item_id, viewer_id=viewer.user_id)
        return None if row is None else record(row)

    async def get_visible_with_owner(
        self, item_id: int, viewer: Viewer
    ) -> tuple[ItemRecord, UserRecord] | None:
        """The item if the viewer may see it, with its owner, in one statement."""
        query = _get_visible(viewer.is_admin, False, True)
        row = await self._connection.row(query, item_id=item_id, viewer_id=viewer.user_id)
        return None if row is None else with_owner(row)

    async def get_many_visible(self, item_ids: list[int], viewer: Viewer) -> list[ItemRecord]:
        query = _get_many_visible(viewer.is_admin)
        rows = await self._connection.rows(query, item_ids=item_ids, viewer_id=viewer.user_id)
        return [record(row) for row in rows]

    async def count(self, viewer: Viewer, filters: ItemFilters) -> int:
        shape, params = lists.shape_and_params(viewer, filters)
        query = lists.count(viewer.is_admin, shape)
        return int(await self._connection.value(query, **params) or 0)

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
        """Up to `limit` items from `offset`; `owners`: their owners too, from one statement."""
        layout = lists.layout(sort is ItemSort.RELEVANCE, owners)
        rows = await self._offset_rows(viewer, filters, sort, offset, limit, layout)
        return _read(layout, rows)

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
        """Up to `limit` items after `position` (`backward`: before it, nearest first); of
        each, the columns of the fields `reads` names."""
        scored = sort is ItemSort.RELEVANCE
        # With no position, nothing lies behind: no row needs the side column.
        sided = look_behind and position is not None
        layout = lists.layout(scored, owners, sided, reads.items, reads.owners)
        rows = await self._keyset_rows(viewer, filters, sort, position, limit, backward, layout)
        return _read(layout, rows)

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
        """Each owner's `keyset_page`, for a batch loader: one statement for every owner."""
        shape, params = lists.shape_and_params(viewer, filters)
        positioned = position is not None
        sided = look_behind and positioned
        query = lists.keyset_pages_by_owner(
            viewer.is_admin, shape, sort, backward, positioned, sided
        )
        rows = await self._connection.rows(
            query, owner_ids=owner_ids, limit=limit, **params, **_position(position)
        )
        pages: dict[int, Rows[ItemRecord]] = {owner_id: Rows([]) for owner_id in owner_ids}
        for row in rows:
            item = record(row)
            if sided and row[-1]:
                pages[item.owner_id] = Rows(pages[item.owner_id].rows, behind=True)
            else:
                pages[item.owner_id].rows.append(item)
        return pages

    async def count_by_owner(
        self, viewer: Viewer, owner_ids: list[int], filters: ItemFilters
    ) -> dict[int, int]:
        shape, params = lists.shape_and_params(viewer, filters)
        query = lists.count_by_owner(viewer.is_admin, shape)
        rows = await self._connection.rows(query, owner_ids=owner_ids, **params)
        return {owner_id: count for owner_id, count in rows}

    async def _offset_rows(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        sort: ItemSort,
        offset: int,
        limit: int,
        layout: lists.Layout,
    ) -> list[Any]:
        shape, params = lists.shape_and_params(viewer, filters)
        query = lists.offset_page(viewer.is_admin, shape, sort, layout)
        return await self._connection.rows(query, offset=offset, limit=limit, **params)

    async def _keyset_rows(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
        backward: bool,
        layout: lists.Layout,
    ) -> list[Any]:
        shape, params = lists.shape_and_params(viewer, filters)
        positioned = position is not None
        query = lists.keyset_page(viewer.is_admin, shape, sort, backward, positioned, layout, limit)
        # A search's limit stays bound (lists.keyset_page); other statements ignore it.
        return await self._connection.rows(query, limit=limit, **params, **_position(position))

    async def add(self, *, owner_id: int, values: dict[str, Any]) -> ItemRecord | None:
        given = {"owner_id": owner_id, **values}
        try:
            row = await self._connection.row(_add(tuple(sorted(given))), **as_params(given))
        except asyncpg.ForeignKeyViolationError:
            # The owner was deleted after the request was let in; the caller's
            # transaction is now aborted, and rolls back when the domain refuses.
            return None
        assert row is not None  # an INSERT ... RETURNING always returns its row
        return record(row)

    async def update(
        self, item_id: int, *, expected_version: int, values: dict[str, Any]
    ) -> ItemRecord | None:
        """Apply `values` and bump the version, only if nobody changed the item meanwhile."""
        query = _update(tuple(sorted(values)))
        row = await self._connection.row(
            query, item_id=item_id, expected_version=expected_version, **as_params(values)
        )
        return None if row is None else record(row)

    async def delete(self, item_id: int, *, expected_version: int | None) -> bool:
        query = _delete(expected_version is not None)
        row = await self._connection.row(query, item_id=item_id, expected_version=expected_version)
        return row is not None
