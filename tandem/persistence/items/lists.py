"""Statements for lists of items: filters, orders, keyset positions, both directions.

`visible_to` is the one place the draft rule lives: a draft is seen only by its
owner and admins. Every read, single or list, is built on it.

A keyset page reads the rows on one side of a position (`after` in the list's
order, or `before` it, read nearest first); with `look_behind`, the same
statement also reads the one nearest row on the other side (UNION ALL), so a
connection knows whether a page lies there without a second statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, Literal, TypeAlias

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)

from tandem.domain.items.records import (
    FILTERS,
    NO_PRICE,
    ItemFilters,
    ItemRecord,
    ItemSort,
    ItemStatus,
)
from tandem.domain.principal import Viewer
from tandem.domain.users.records import UserRecord
from tandem.persistence import records
from tandem.persistence.items import search
from tandem.persistence.items.models import Item
from tandem.persistence.sql import Query, compile_query, written
from tandem.persistence.users import repository as users
from tandem.persistence.users.models import User

Statement: TypeAlias = Select[*tuple[Any, ...]]
Side = Literal["after", "before"]

# The item's columns, named by the record's fields (rank, computed per list, aside): a row
# of them becomes an ItemRecord field by field, by name.
COLUMNS = tuple(getattr(Item, entry.name) for entry in fields(ItemRecord) if entry.name != "rank")
_LIMIT = bindparam("limit", type_=Integer)


@dataclass(frozen=True, slots=True)
class Shape:
    """Which filters a list uses: with the viewer's kind and the sort, a statement's shape."""

    given: tuple[str, ...] = ()  # the names of the filters (ItemFilters) given, but `q`
    search: search.TermKinds | None = None  # the kinds of the words of `q`
    nothing: bool = False  # a search with no words matches nothing


@dataclass(frozen=True, slots=True)
class Layout:
    """What a row holds: the item's columns, its rank, its owner's columns, a side.

    `fields` and `owner_fields` name the record fields to read (None: all of them): a page
    that shows four fields of fifty items decodes four columns, not seventeen (the bench's
    GraphQL list: asyncpg's decoding 0.43 -> 0.20 ms of CPU a page, PostgreSQL's 0.30 ->
    0.16 ms). The records are then partial (persistence/records.py); the owner's id is
    always read, as owners are told apart by it. `item` and `owner` make the records from
    a row, by column name. Take one from `layout()`, which makes each once.
    """

    scored: bool = False
    owners: bool = False
    sided: bool = False
    fields: frozenset[str] | None = None
    owner_fields: frozenset[str] | None = None
    columns: tuple[Any, ...] = field(init=False, repr=False, compare=False)
    owner_columns: tuple[Any, ...] = field(init=False, repr=False, compare=False)
    width: int = field(init=False)
    item: Callable[[Any], ItemRecord] = field(init=False, repr=False, compare=False)
    owner: Callable[[Any], UserRecord] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items = _chosen(ITEM_NAMES, self.fields)
        owned = None if self.owner_fields is None else self.owner_fields | {"id"}
        owners = _chosen(OWNER_NAMES, owned)
        ranked = (*items, "rank") if self.scored else items
        width = len(ranked)
        partial = self.fields is not None
        set_ = object.__setattr__
        set_(self, "columns", tuple(_ITEM_COLUMNS[name] for name in items))
        set_(self, "owner_columns", tuple(_OWNER_COLUMNS[name] for name in owners))
        set_(self, "width", width)
        set_(self, "item", records.maker(ItemRecord, ranked, partial=partial))
        owner_partial = self.owner_fields is not None
        set_(self, "owner", records.maker(UserRecord, owners, start=width, partial=owner_partial))

    def behind(self, row: Any) -> bool:
        """Whether the row is the look-behind one (the other side of the position)."""
        return bool(row[-1]) if self.sided else False


def _chosen(names: tuple[str, ...], wanted: frozenset[str] | None) -> tuple[str, ...]:
    return names if wanted is None else tuple(name for name in names if name in wanted)


@lru_cache(maxsize=256)
def layout(
    scored: bool = False,
    owners: bool = False,
    sided: bool = False,
    fields: frozenset[str] | None = None,
    owner_fields: frozenset[str] | None = None,
) -> Layout:
    """The layout of these, made once (its makers are generated functions)."""
    return Layout(scored, owners, sided, fields, owner_fields)


ITEM_NAMES = records.names_of(COLUMNS)
OWNER_NAMES = records.names_of(users.COLUMNS)
_ITEM_COLUMNS = dict(zip(ITEM_NAMES, COLUMNS, strict=True))
_OWNER_COLUMNS = dict(zip(OWNER_NAMES, users.COLUMNS, strict=True))


def shape_and_params(viewer: Viewer, filters: ItemFilters) -> tuple[Shape, dict[str, Any]]:
    """The statement shape for these filters, and the values that go with it."""
    params: dict[str, Any] = {"viewer_id": viewer.user_id}
    given: list[str] = []
    kinds: search.TermKinds | None = None
    for entry in FILTERS:
        value = getattr(filters, entry.name)
        if value is None:
            continue
        if entry.test == "search":
            kinds, search_params = search.search_params(value)
            params.update(search_params)
            continue
        given.append(entry.name)
        params[entry.name] = [value] if entry.test == "contains" else value
    return Shape(tuple(given), kinds or None, kinds == ()), params


def _unsized(kind: Any) -> Any:
    """The column's type for a bound value, without a length (a cast would truncate)."""
    if isinstance(kind, ARRAY):
        return ARRAY(_unsized(kind.item_type))
    return String() if isinstance(kind, String) else kind


def _test(name: str) -> ColumnElement[bool]:
    """The `where` of the filter `name`, on its column (ItemFilters says which, and how)."""
    entry = _FILTERS[name]
    assert entry.column is not None
    column = getattr(Item, entry.column)
    bound = bindparam(name, type_=_unsized(column.type))
    if entry.test == "contains":
        return column.contains(bound)  # type: ignore[no-any-return]
    return column == bound  # type: ignore[no-any-return]


_FILTERS = {entry.name: entry for entry in FILTERS}


def visible_to(is_admin: bool) -> ColumnElement[bool] | None:
    """Admins see everything; others see what is not a draft, and their own drafts."""
    if is_admin:
        return None
    return or_(
        Item.status != ItemStatus.DRAFT, Item.owner_id == bindparam("viewer_id", type_=BigInteger)
    )


def filtered(statement: Statement, is_admin: bool, shape: Shape) -> Statement:
    visibility = visible_to(is_admin)
    if visibility is not None:
        statement = statement.where(visibility)
    for name in shape.given:
        statement = statement.where(_test(name))
    if shape.search:
        statement = statement.where(search.matches(shape.search))
    if shape.nothing:
        statement = statement.where(false())
    return statement


def selected(layout: Layout, *extra: ColumnElement[Any]) -> Statement:
    """The item's columns, then (as `layout` says) its rank and its owner's, from one join."""
    columns: list[Any] = [*layout.columns]
    if layout.scored:
        columns.append(search.relevance().label("rank"))
    if not layout.owners:
        return select(*columns, *extra)
    return select(*columns, *layout.owner_columns, *extra).join(User, User.id == Item.owner_id)


def sort_column(sort: ItemSort) -> ColumnElement[Any]:
    if sort is ItemSort.RELEVANCE:
        return search.relevance()
    if sort.column == "price":
        # NULL prices sort as the lowest, so keyset comparisons never meet a NULL.
        return func.coalesce(Item.price, NO_PRICE)
    column: ColumnElement[Any] = getattr(Item, sort.column)
    return column


def order_clauses(
    sort: ItemSort, *, reverse: bool = False
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The list's order, or (`reverse`) the opposite one, reading a page before a position."""
    column = sort_column(sort)
    if sort.descending != reverse:
        return column.desc(), Item.id.desc()
    return column.asc(), Item.id.asc()


def beyond(sort: ItemSort, side: Side, *, inclusive: bool = False) -> ColumnElement[bool]:
    """Rows on `side` of the position bound as `after_value` and `after_id`, in `sort` order."""
    column = sort_column(sort)
    position = tuple_(column, Item.id)
    bound = tuple_(
        bindparam("after_value", type_=column.type), bindparam("after_id", type_=BigInteger)
    )
    later = (side == "after") == (not sort.descending)  # greater values come later
    if later:
        return position >= bound if inclusive else position > bound
    return position <= bound if inclusive else position < bound


def _other(side: Side) -> Side:
    return "before" if side == "after" else "after"


def _compiled(shape: Shape, statement: Any) -> Query:
    """A list statement, compiled; one that searches runs under the search timeout."""
    return compile_query(statement, search=shape.search is not None)


@lru_cache(maxsize=256)
def count(is_admin: bool, shape: Shape) -> Query:
    return _compiled(shape, filtered(select(func.count()).select_from(Item), is_admin, shape))


@lru_cache(maxsize=512)
def offset_page(is_admin: bool, shape: Shape, sort: ItemSort, layout: Layout) -> Query:
    statement = filtered(selected(layout), is_admin, shape).order_by(*order_clauses(sort))
    return _compiled(shape, statement.offset(bindparam("offset", type_=BigInteger)).limit(_LIMIT))


@lru_cache(maxsize=2048)
def keyset_page(
    is_admin: bool,
    shape: Shape,
    sort: ItemSort,
    backward: bool,
    positioned: bool,
    layout: Layout,
    limit: int,
) -> Query:
    """Up to `limit` rows after the position (`backward`: before it), nearest first; with no
    position, from the start (or the end); `layout.sided` adds the nearest row behind.

    The limit is written into the statement, not bound: PostgreSQL prices the generic plan
    of a `LIMIT $n` for a tenth of the rows, so it never takes it, and plans the statement
    again at every execution; planning the page of 50 cost more than running it (0.29
    against 0.22 ms on PostgreSQL 18, EXPLAIN ANALYZE; a written limit is planned once per
    connection). Clients use few page sizes, so the statements stay few. A search keeps
    its limit bound: it is planned for its words at every execution, as its statement
    shapes expect (tandem/persistence/items/search.py, bench/explain_search.py).
    """
    side: Side = "before" if backward else "after"

    def part(which: Side, flag: int, *, inclusive: bool, backwards: bool) -> Statement:
        extra = (literal(flag).label("behind"),) if layout.sided else ()
        statement = filtered(selected(layout, *extra), is_admin, shape)
        if positioned:
            statement = statement.where(beyond(sort, which, inclusive=inclusive))
        return statement.order_by(*order_clauses(sort, reverse=backwards))

    rows = _LIMIT if shape.search else written(limit)
    page = part(side, 0, inclusive=False, backwards=backward).limit(rows)
    if not (layout.sided and positioned):
        return _compiled(shape, page)
    behind = part(_other(side), 1, inclusive=True, backwards=not backward).limit(written(1))
    return _compiled(shape, union_all(page, behind))


@lru_cache(maxsize=512)
def keyset_pages_by_owner(
    is_admin: bool, shape: Shape, sort: ItemSort, backward: bool, positioned: bool, sided: bool
) -> Query:
    """`keyset_page` for many owners at once: each owner's rows ranked in its own window."""
    owners = any_(bindparam("owner_ids", type_=ARRAY(BigInteger)))
    side: Side = "before" if backward else "after"

    def part(which: Side, flag: int, *, inclusive: bool, backwards: bool) -> Statement:
        rank = func.row_number().over(
            partition_by=Item.owner_id, order_by=order_clauses(sort, reverse=backwards)
        )
        ranked = filtered(
            select(*COLUMNS, rank.label("rank")).where(Item.owner_id == owners), is_admin, shape
        )
        if positioned:
            ranked = ranked.where(beyond(sort, which, inclusive=inclusive))
        inner = ranked.subquery()
        extra = (literal(flag).label("behind"),) if sided else ()
        columns = [inner.c[column.key] for column in COLUMNS]
        limit = _LIMIT if flag == 0 else literal(1)
        return select(*columns, inner.c.rank, *extra).where(inner.c.rank <= limit)

    page = part(side, 0, inclusive=False, backwards=backward)
    if not (sided and positioned):
        return _compiled(shape, page.order_by(page.selected_columns.owner_id, "rank"))
    behind = part(_other(side), 1, inclusive=True, backwards=not backward)
    both = union_all(page, behind).subquery()
    return _compiled(shape, select(both).order_by(both.c.owner_id, both.c.behind, both.c.rank))


@lru_cache(maxsize=256)
def count_by_owner(is_admin: bool, shape: Shape) -> Query:
    owners = any_(bindparam("owner_ids", type_=ARRAY(BigInteger)))
    statement = select(Item.owner_id, func.count()).where(Item.owner_id == owners)
    return _compiled(shape, filtered(statement, is_admin, shape).group_by(Item.owner_id))
