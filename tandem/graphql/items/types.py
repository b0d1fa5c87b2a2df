"""GraphQL types for items, written by hand (not generated from the REST schemas)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from tandem.domain import global_ids
from tandem.domain.errors import NotFound
from tandem.domain.pages import Slice
from tandem.graphql.context import Info
from tandem.graphql.relay import Node, PageInfo
from tandem.persistence.items.repository import ItemRecord

if TYPE_CHECKING:
    from tandem.graphql.users.types import User


@strawberry.enum
class ItemStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


@strawberry.enum
class ItemOrder(enum.Enum):
    CREATED_AT_DESC = "-created_at"
    CREATED_AT_ASC = "created_at"
    TITLE_ASC = "title"
    TITLE_DESC = "-title"
    PRICE_ASC = "price"
    PRICE_DESC = "-price"


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
    owner_id: strawberry.Private[int]

    @strawberry.field
    async def owner(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("tandem.graphql.users.types")]:
        from tandem.graphql.users.types import User

        owner = await info.context.loaders.user.load(self.owner_id)
        if owner is None:
            raise NotFound("The item's owner no longer exists.")
        return User.of(owner)

    @classmethod
    def of(cls, item: ItemRecord) -> Item:
        return cls(
            id=strawberry.ID(global_ids.encode("Item", item.id)),
            database_id=item.id,
            title=item.title,
            description=item.description,
            price=item.price,
            tags=item.tags,
            status=ItemStatus(item.status),
            created_at=item.created_at,
            updated_at=item.updated_at,
            version=item.version,
            owner_id=item.owner_id,
        )


@strawberry.type
class ItemEdge:
    cursor: str
    node: Item


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]
    nodes: list[Item]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match, across all pages (costs a count).")
    async def total_count(self) -> int:
        return await self.counter()

    @classmethod
    def of(cls, page: Slice[ItemRecord], counter: Callable[[], Awaitable[int]]) -> ItemConnection:
        nodes = [Item.of(item) for item in page.items]
        return cls(
            edges=[ItemEdge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=PageInfo.forward(page.cursors, has_more=page.has_more),
            counter=counter,
        )
