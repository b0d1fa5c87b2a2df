"""Item queries: one item, and a keyset-paged connection."""

from __future__ import annotations

import strawberry

from tandem.graphql.context import Info
from tandem.graphql.items.inputs import ItemFilter, item_query
from tandem.graphql.items.types import Item, ItemConnection, ItemOrder
from tandem.graphql.relay import database_id


@strawberry.type
class ItemQueries:
    @strawberry.field(description="An item you may see; null with NOT_FOUND otherwise.")
    async def item(self, info: Info, id: strawberry.ID) -> Item | None:
        services = info.context.services
        return Item.of(await services.items.get(info.context.principal, database_id(id, "Item")))

    @strawberry.field(
        description="Items you may see, newest first unless `orderBy` says otherwise."
    )
    async def items(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: ItemFilter | None = None,
        order_by: ItemOrder = ItemOrder.CREATED_AT_DESC,
    ) -> ItemConnection:
        principal = info.context.principal
        services = info.context.services
        query = item_query(filter, order_by)
        info.context.connections_resolved += 1
        page = await services.items.slice(
            principal, query, first=20 if first is None else first, after=after
        )

        async def count() -> int:
            return await services.items.count(principal, query)

        return await ItemConnection.of(info, page, count)
