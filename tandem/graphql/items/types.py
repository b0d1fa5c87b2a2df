"""GraphQL types for items, written by hand (not generated from the REST schemas)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import strawberry

from tandem.domain.errors import NotFound
from tandem.domain.items.records import ItemRecord, ItemSort, ItemStatus
from tandem.domain.pages import Reads, Slice
from tandem.domain.users.records import UserRecord
from tandem.graphql.context import Info
from tandem.graphql.lookahead import selected
from tandem.graphql.projection import Projection
from tandem.graphql.relay import Node, PageInfo

if TYPE_CHECKING:
    from tandem.graphql.loaders import Loaders
    from tandem.graphql.users.types import User


# The domain's vocabularies, as GraphQL enums: the member names are the GraphQL values.
strawberry.enum(ItemStatus)
strawberry.enum(ItemSort, name="ItemOrder")


class OwnerLoad:
    """An item's owner, loaded through the request's DataLoader only if the query awaits it.

    graphql-core awaits whatever awaitable a field holds, so `Item.owner` can stay a
    plain field (no resolver, no per-item wrapper) whether the owner came with the
    item or must be loaded; one that is never awaited costs nothing.
    """

    __slots__ = ("_loaders", "_owner_id")

    def __init__(self, loaders: Loaders, owner_id: int) -> None:
        self._loaders = loaders
        self._owner_id = owner_id

    def __await__(self) -> Generator[Any, None, User]:
        return self._load().__await__()

    async def _load(self) -> User:
        from tandem.graphql.users.types import User

        owner = await self._loaders.user.load(self._owner_id)
        if owner is None:
            raise NotFound("The item's owner no longer exists.")
        return User.of(owner)


@strawberry.type
class Item(Node):
    database_id: int
    title: str
    description: str | None
    price: Decimal | None
    tags: list[str]
    status: ItemStatus
    created_at: datetime
    updated_at: datetime
    version: int
    owner: Annotated[User, strawberry.lazy("tandem.graphql.users.types")]

    @classmethod
    def of(cls, item: ItemRecord, owner: User | OwnerLoad) -> Item:
        """The item, all its fields copied from the record (an OwnerLoad is awaited into a
        User when the query reads the owner)."""
        return _item_of(item, owner)

    @classmethod
    def loading_owner(cls, info: Info, item: ItemRecord) -> Item:
        """The item; its owner is loaded (batched with the request's other loads) if asked for."""
        return cls.of(item, OwnerLoad(info.context.loaders, item.owner_id))


ITEM = Projection(Item, ItemRecord, derived={"owner": ("owner_id",)}, entries={"owner": "extra"})
_item_of = ITEM.maker(None, True)


@strawberry.type
class ItemEdge:
    cursor: str
    node: Item


@strawberry.type
class ItemConnection:
    @strawberry.field
    def edges(self) -> list[ItemEdge]:
        cursor_of = self.page.cursor_of
        return [
            ItemEdge(cursor=cursor_of(record), node=node)
            for record, node in zip(self.page.items, self.nodes, strict=True)
        ]

    nodes: list[Item]
    page: strawberry.Private[Slice[ItemRecord]]
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def page_info(self) -> PageInfo:
        return PageInfo.of(self.page)

    @strawberry.field(description="How many items match, across all pages (costs a count).")
    async def total_count(self) -> int:
        return await self.counter()

    @classmethod
    def of(
        cls,
        info: Info,
        page: Slice[ItemRecord],
        counter: Callable[[], Awaitable[int]],
        *,
        owners: dict[int, UserRecord] | None = None,
        reads: Reads | None = None,
    ) -> ItemConnection:
        """The connection; owners known (`owners`, else the page's own) are used, others are
        loaded if asked for. Its nodes hold what the query reads (`reads`, by default the
        selection's), which may be all a partial record holds."""
        selection = _selection(info)
        if reads is None or reads is selection.reads:
            item_of, user_of = selection.item_of, selection.user_of
        else:  # what the caller says is read, and the global ids
            from tandem.graphql.users.types import USER

            item_of, user_of = ITEM.maker(reads.items, True), USER.maker(reads.owners, True)
        known = page.owners if owners is None else owners
        users = {owner_id: user_of(record) for owner_id, record in known.items()}
        loaders = info.context.loaders
        nodes = [
            item_of(item, users.get(item.owner_id) or OwnerLoad(loaders, item.owner_id))
            for item in page.items
        ]
        return cls(nodes=nodes, page=page, counter=counter)


def page_reads(info: Info) -> tuple[Reads, bool]:
    """What the connection being resolved reads of its items' records and their owners', and
    whether it selects the owners at all (then they come joined to the page)."""
    selection = _selection(info)
    return selection.reads, selection.owners


class _Selection(NamedTuple):
    """A connection's selection: what it reads, whether it selects the owners, and the makers
    of its nodes (holding what it reads, and a global id only where `id` is selected)."""

    reads: Reads
    owners: bool
    item_of: Callable[..., Item]
    user_of: Callable[..., User]


# By the connection's field node (held, so its id is not reused): a document's selection is
# walked once, not at every request (the parser's cache hands each request the same nodes).
_SELECTIONS: dict[int, tuple[Any, _Selection]] = {}


def _selection(info: Info) -> _Selection:
    from tandem.graphql.users.types import USER

    field_nodes = info._raw_info.field_nodes
    node = field_nodes[0]
    found = _SELECTIONS.get(id(node))
    if found is not None and found[0] is node and len(field_nodes) == 1:
        return found[1]
    nodes = selected(info, "nodes") | selected(info, "edges", "node")
    owners = selected(info, "nodes", "owner") | selected(info, "edges", "node", "owner")
    # Edges (each with its cursor) and pageInfo (the first and last) make cursors.
    cursors = not selected(info).isdisjoint(("edges", "pageInfo"))
    reads = Reads(ITEM.reads(nodes), USER.reads(owners), cursors)
    selection = _Selection(reads, "owner" in nodes, ITEM.node_maker(nodes), USER.node_maker(owners))
    if len(field_nodes) == 1:
        if len(_SELECTIONS) >= 256:
            _SELECTIONS.clear()
        _SELECTIONS[id(node)] = (node, selection)
    return selection
