"""Every statement about items, built from small composable pieces.

`visible_to` is the one place the draft rule lives: a draft is seen only by its
owner and admins. Every read, single or list, is built on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from tandem.domain.items.records import (
    NO_PRICE,
    ItemFilters,
    ItemRecord,
    ItemSort,
    ItemStatus,
    Keyset,
)
from tandem.domain.principal import Viewer
from tandem.domain.users.records import UserRecord
from tandem.persistence.items.models import Item
from tandem.persistence.sql import Connection, Query, as_params, compile_query, settable
from tandem.persistence.users import repository as users
from tandem.persistence.users.models import User

_WORD = re.compile(r"\w+", re.UNICODE)

Statement: TypeAlias = Select[*tuple[Any, ...]]


COLUMNS = (
    Item.id,
    Item.owner_id,
    Item.title,
    Item.description,
    Item.price,
    Item.tags,
    Item.status,
    Item.version,
    Item.created_at,
    Item.updated_at,
)


def record(row: Any) -> ItemRecord:
    return ItemRecord(*row)


_ITEM_WIDTH = len(COLUMNS)


def with_owner(row: Any) -> tuple[ItemRecord, UserRecord]:
    """A row of `selected(owners=True)`: the item's `COLUMNS`, then its owner's."""
    return ItemRecord(*row[:_ITEM_WIDTH]), UserRecord(*row[_ITEM_WIDTH:])


def selected(owners: bool) -> Statement:
    """The item's columns; with `owners`, its owner's too, from the same statement (a join)."""
    if not owners:
        return select(*COLUMNS)
    return select(*COLUMNS, *users.COLUMNS).join(User, User.id == Item.owner_id)


@dataclass(frozen=True, slots=True)
class Shape:
    """Which filters a list uses: with the viewer's kind and the sort, a statement's shape."""

    owner: bool = False
    status: bool = False
    tag: bool = False
    search: bool = False
    nothing: bool = False  # a search with no words matches nothing


def shape_and_params(viewer: Viewer, filters: ItemFilters) -> tuple[Shape, dict[str, Any]]:
    """The statement shape for these filters, and the values that go with it."""
    params: dict[str, Any] = {"viewer_id": viewer.user_id}
    search = None if filters.q is None else search_query(filters.q)
    if filters.owner_id is not None:
        params["owner_id"] = filters.owner_id
    if filters.status is not None:
        params["status"] = filters.status
    if filters.tag is not None:
        params["tags"] = [filters.tag]
    if search is not None:
        params["q"] = search
    shape = Shape(
        owner=filters.owner_id is not None,
        status=filters.status is not None,
        tag=filters.tag is not None,
        search=search is not None,
        nothing=filters.q is not None and search is None,
    )
    return shape, params


def visible_to(is_admin: bool) -> ColumnElement[bool] | None:
    """Admins see everything; others see what is not a draft, and their own drafts."""
    if is_admin:
        return None
    return or_(
        Item.status != ItemStatus.DRAFT, Item.owner_id == bindparam("viewer_id", type_=BigInteger)
    )


def search_query(q: str) -> str | None:
    """A prefix tsquery of every word in `q` (words are \\w+, so nothing needs escaping)."""
    words = _WORD.findall(q.lower())
    return " & ".join(f"{word}:*" for word in words) if words else None


def filtered(statement: Statement, is_admin: bool, shape: Shape) -> Statement:
    visibility = visible_to(is_admin)
    if visibility is not None:
        statement = statement.where(visibility)
    if shape.owner:
        statement = statement.where(Item.owner_id == bindparam("owner_id", type_=BigInteger))
    if shape.status:
        statement = statement.where(Item.status == bindparam("status", type_=String))
    if shape.tag:
        statement = statement.where(Item.tags.contains(bindparam("tags", type_=ARRAY(String))))
    if shape.search:
        query = func.to_tsquery("simple", bindparam("q", type_=String))
        statement = statement.where(Item.search.bool_op("@@")(query))
    if shape.nothing:
        statement = statement.where(false())
    return statement


def sort_column(sort: ItemSort) -> ColumnElement[Any]:
    if sort.column == "price":
        # NULL prices sort as the lowest, so keyset comparisons never meet a NULL.
        return func.coalesce(Item.price, NO_PRICE)
    column: ColumnElement[Any] = getattr(Item, sort.column)
    return column


def order_clauses(sort: ItemSort) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    column = sort_column(sort)
    if sort.descending:
        return column.desc(), Item.id.desc()
    return column.asc(), Item.id.asc()


def after(statement: Statement, sort: ItemSort) -> Statement:
    """Rows after the position given as `after_value` and `after_id`."""
    column = sort_column(sort)
    position = tuple_(column, Item.id)
    bound = tuple_(
        bindparam("after_value", type_=column.type), bindparam("after_id", type_=BigInteger)
    )
    return statement.where(position < bound if sort.descending else position > bound)


_ITEM_ID = bindparam("item_id", type_=BigInteger)
_LIMIT = bindparam("limit", type_=Integer)


@lru_cache(maxsize=8)
def _get_visible(is_admin: bool, for_update: bool, owners: bool = False) -> Query:
    statement = filtered(selected(owners).where(Item.id == _ITEM_ID), is_admin, Shape())
    return compile_query(statement.with_for_update() if for_update else statement)


@lru_cache(maxsize=4)
def _get_many_visible(is_admin: bool) -> Query:
    ids = any_(bindparam("item_ids", type_=ARRAY(BigInteger)))
    return compile_query(filtered(select(*COLUMNS).where(Item.id == ids), is_admin, Shape()))


@lru_cache(maxsize=256)
def _count(is_admin: bool, shape: Shape) -> Query:
    return compile_query(filtered(select(func.count()).select_from(Item), is_admin, shape))


@lru_cache(maxsize=512)
def _offset_page(is_admin: bool, shape: Shape, sort: ItemSort) -> Query:
    statement = filtered(select(*COLUMNS), is_admin, shape).order_by(*order_clauses(sort))
    return compile_query(statement.offset(bindparam("offset", type_=BigInteger)).limit(_LIMIT))


@lru_cache(maxsize=512)
def _keyset_page(
    is_admin: bool, shape: Shape, sort: ItemSort, positioned: bool, owners: bool = False
) -> Query:
    statement = filtered(selected(owners), is_admin, shape).order_by(*order_clauses(sort))
    if positioned:
        statement = after(statement, sort)
    return compile_query(statement.limit(_LIMIT))


@lru_cache(maxsize=512)
def _keyset_pages_by_owner(is_admin: bool, shape: Shape, sort: ItemSort, positioned: bool) -> Query:
    rank = func.row_number().over(partition_by=Item.owner_id, order_by=order_clauses(sort))
    owners = any_(bindparam("owner_ids", type_=ARRAY(BigInteger)))
    ranked = filtered(
        select(*COLUMNS, rank.label("rank")).where(Item.owner_id == owners), is_admin, shape
    )
    if positioned:
        ranked = after(ranked, sort)
    inner = ranked.subquery()
    return compile_query(
        select(*(inner.c[column.key] for column in COLUMNS))
        .where(inner.c.rank <= _LIMIT)
        .order_by(inner.c.owner_id, inner.c.rank)
    )


@lru_cache(maxsize=256)
def _count_by_owner(is_admin: bool, shape: Shape) -> Query:
    owners = any_(bindparam("owner_ids", type_=ARRAY(BigInteger)))
    statement = select(Item.owner_id, func.count()).where(Item.owner_id == owners)
    return compile_query(filtered(statement, is_admin, shape).group_by(Item.owner_id))


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
        shape, params = shape_and_params(viewer, filters)
        return int(await self._connection.value(_count(viewer.is_admin, shape), **params) or 0)

    async def offset_page(
        self, viewer: Viewer, filters: ItemFilters, *, sort: ItemSort, offset: int, limit: int
    ) -> list[ItemRecord]:
        shape, params = shape_and_params(viewer, filters)
        query = _offset_page(viewer.is_admin, shape, sort)
        rows = await self._connection.rows(query, offset=offset, limit=limit, **params)
        return [record(row) for row in rows]

    async def keyset_page(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        *,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
    ) -> list[ItemRecord]:
        """Up to `limit` items after `position` in `sort` order: stable under inserts."""
        shape, params = shape_and_params(viewer, filters)
        query = _keyset_page(viewer.is_admin, shape, sort, position is not None)
        rows = await self._connection.rows(query, limit=limit, **params, **_position(position))
        return [record(row) for row in rows]

    async def keyset_page_with_owners(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        *,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
    ) -> list[tuple[ItemRecord, UserRecord]]:
        """`keyset_page`, each item with its owner, in one statement."""
        shape, params = shape_and_params(viewer, filters)
        query = _keyset_page(viewer.is_admin, shape, sort, position is not None, True)
        rows = await self._connection.rows(query, limit=limit, **params, **_position(position))
        return [with_owner(row) for row in rows]

    async def keyset_pages_by_owner(
        self,
        viewer: Viewer,
        owner_ids: list[int],
        filters: ItemFilters,
        *,
        sort: ItemSort,
        position: Keyset | None,
        limit: int,
    ) -> list[ItemRecord]:
        """The first `limit` items of each owner after `position`, in one statement."""
        shape, params = shape_and_params(viewer, filters)
        query = _keyset_pages_by_owner(viewer.is_admin, shape, sort, position is not None)
        rows = await self._connection.rows(
            query, owner_ids=owner_ids, limit=limit, **params, **_position(position)
        )
        return [record(row) for row in rows]

    async def count_by_owner(
        self, viewer: Viewer, owner_ids: list[int], filters: ItemFilters
    ) -> dict[int, int]:
        shape, params = shape_and_params(viewer, filters)
        query = _count_by_owner(viewer.is_admin, shape)
        rows = await self._connection.rows(query, owner_ids=owner_ids, **params)
        return {owner_id: count for owner_id, count in rows}

    async def add(self, *, owner_id: int, values: dict[str, Any]) -> ItemRecord:
        given = {"owner_id": owner_id, **values}
        row = await self._connection.row(_add(tuple(sorted(given))), **as_params(given))
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
