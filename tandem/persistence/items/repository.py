"""Every statement about items, built from small composable pieces.

`visible_to` is the one place the draft rule lives: a draft is seen only by its
owner and admins. Every read, single or list, is built on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from tandem.persistence.items.models import Item

SortKey = Literal["created_at", "-created_at", "title", "-title", "price", "-price"]
SORT_KEYS: tuple[SortKey, ...] = ("created_at", "-created_at", "title", "-title", "price", "-price")

_WORD = re.compile(r"\w+", re.UNICODE)

Statement: TypeAlias = Select[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class ItemRecord:
    id: int
    owner_id: int
    title: str
    description: str | None
    price: Decimal | None
    tags: list[str]
    status: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is reading: enough to build the visibility predicate, nothing more."""

    user_id: int
    is_admin: bool


@dataclass(frozen=True, slots=True)
class ItemFilters:
    owner_id: int | None = None
    status: str | None = None
    tag: str | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class Keyset:
    """The position of the last row seen: its sort value and its id."""

    value: Any
    id: int


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


def visible_to(viewer: Viewer) -> ColumnElement[bool] | None:
    """Admins see everything; others see what is not a draft, and their own drafts."""
    if viewer.is_admin:
        return None
    return or_(Item.status != "draft", Item.owner_id == viewer.user_id)


def search_query(q: str) -> str | None:
    """A prefix tsquery of every word in `q` (words are \\w+, so nothing needs escaping)."""
    words = _WORD.findall(q.lower())
    return " & ".join(f"{word}:*" for word in words) if words else None


def filtered(statement: Statement, viewer: Viewer, filters: ItemFilters) -> Statement:
    visibility = visible_to(viewer)
    if visibility is not None:
        statement = statement.where(visibility)
    if filters.owner_id is not None:
        statement = statement.where(Item.owner_id == filters.owner_id)
    if filters.status is not None:
        statement = statement.where(Item.status == filters.status)
    if filters.tag is not None:
        statement = statement.where(Item.tags.contains([filters.tag]))
    if filters.q is not None:
        query = search_query(filters.q)
        if query is None:
            statement = statement.where(false())
        else:
            statement = statement.where(Item.search.bool_op("@@")(func.to_tsquery("simple", query)))
    return statement


def sort_column(sort: SortKey) -> ColumnElement[Any]:
    name = sort.lstrip("-")
    if name == "price":
        # NULL prices sort as the lowest, so keyset comparisons never meet a NULL.
        return func.coalesce(Item.price, -1)
    column: ColumnElement[Any] = getattr(Item, name)
    return column


def sort_value(item: ItemRecord, sort: SortKey) -> Any:
    name = sort.lstrip("-")
    if name == "price":
        return item.price if item.price is not None else Decimal(-1)
    return getattr(item, name)


def order_clauses(sort: SortKey) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    column = sort_column(sort)
    if sort.startswith("-"):
        return column.desc(), Item.id.desc()
    return column.asc(), Item.id.asc()


def ordered(statement: Statement, sort: SortKey) -> Statement:
    return statement.order_by(*order_clauses(sort))


def after(statement: Statement, sort: SortKey, keyset: Keyset) -> Statement:
    position = tuple_(sort_column(sort), Item.id)
    bound = tuple_(keyset.value, keyset.id)
    return statement.where(position < bound if sort.startswith("-") else position > bound)


class ItemRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get_visible(
        self, item_id: int, viewer: Viewer, *, for_update: bool = False
    ) -> ItemRecord | None:
        """The item if the viewer may see it; `for_update` locks it until the transaction ends."""
        statement = filtered(select(*COLUMNS).where(Item.id == item_id), viewer, ItemFilters())
        if for_update:
            statement = statement.with_for_update()
        row = (await self._connection.execute(statement)).first()
        return None if row is None else record(row)

    async def get_many_visible(self, item_ids: list[int], viewer: Viewer) -> list[ItemRecord]:
        statement = filtered(select(*COLUMNS).where(Item.id.in_(item_ids)), viewer, ItemFilters())
        return [record(row) for row in await self._connection.execute(statement)]

    async def count(self, viewer: Viewer, filters: ItemFilters) -> int:
        statement = filtered(select(func.count()).select_from(Item), viewer, filters)
        return int((await self._connection.execute(statement)).scalar() or 0)

    async def offset_page(
        self, viewer: Viewer, filters: ItemFilters, *, sort: SortKey, offset: int, limit: int
    ) -> list[ItemRecord]:
        statement = ordered(filtered(select(*COLUMNS), viewer, filters), sort)
        rows = await self._connection.execute(statement.offset(offset).limit(limit))
        return [record(row) for row in rows]

    async def keyset_page(
        self,
        viewer: Viewer,
        filters: ItemFilters,
        *,
        sort: SortKey,
        position: Keyset | None,
        limit: int,
    ) -> list[ItemRecord]:
        """Up to `limit` items after `position` in `sort` order: stable under inserts."""
        statement = ordered(filtered(select(*COLUMNS), viewer, filters), sort)
        if position is not None:
            statement = after(statement, sort, position)
        rows = await self._connection.execute(statement.limit(limit))
        return [record(row) for row in rows]

    async def keyset_pages_by_owner(
        self,
        viewer: Viewer,
        owner_ids: list[int],
        filters: ItemFilters,
        *,
        sort: SortKey,
        position: Keyset | None,
        limit: int,
    ) -> list[ItemRecord]:
        """The first `limit` items of each owner after `position`, in one statement."""
        rank = func.row_number().over(partition_by=Item.owner_id, order_by=order_clauses(sort))
        ranked = filtered(
            select(*COLUMNS, rank.label("rank")).where(Item.owner_id.in_(owner_ids)),
            viewer,
            filters,
        )
        if position is not None:
            ranked = after(ranked, sort, position)
        inner = ranked.subquery()
        statement = (
            select(*(inner.c[column.key] for column in COLUMNS))
            .where(inner.c.rank <= limit)
            .order_by(inner.c.owner_id, inner.c.rank)
        )
        return [record(row) for row in await self._connection.execute(statement)]

    async def count_by_owner(
        self, viewer: Viewer, owner_ids: list[int], filters: ItemFilters
    ) -> dict[int, int]:
        statement = filtered(
            select(Item.owner_id, func.count())
            .where(Item.owner_id.in_(owner_ids))
            .group_by(Item.owner_id),
            viewer,
            filters,
        )
        rows = await self._connection.execute(statement)
        return {owner_id: count for owner_id, count in rows}

    async def add(self, *, owner_id: int, values: dict[str, Any]) -> ItemRecord:
        statement = insert(Item).values(owner_id=owner_id, **values).returning(*COLUMNS)
        return record((await self._connection.execute(statement)).one())

    async def update(
        self, item_id: int, *, expected_version: int, values: dict[str, Any]
    ) -> ItemRecord | None:
        """Apply `values` and bump the version, only if nobody changed the item meanwhile."""
        statement = (
            update(Item)
            .where(Item.id == item_id, Item.version == expected_version)
            .values(**values, version=Item.version + 1, updated_at=func.now())
            .returning(*COLUMNS)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else record(row)

    async def delete(self, item_id: int, *, expected_version: int | None) -> bool:
        statement = delete(Item).where(Item.id == item_id)
        if expected_version is not None:
            statement = statement.where(Item.version == expected_version)
        return (await self._connection.execute(statement.returning(Item.id))).first() is not None
