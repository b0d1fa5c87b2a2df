"""Item queries: one item, and a keyset-paged connection."""

from __future__ import annotations

import strawberry

from tandem.domain.items.records import DEFAULT_SORT, ItemSort
from tandem.graphql.context import Info
from tandem.graphql.items.inputs import ItemFilter, item_query
from tandem.graphql.items.types import Item, ItemConnection, page_reads
from tandem.graphql.lookahead import reaches
from tandem.graphql.relay import After, Before, First, Last, database_id, window
from tandem.graphql.users.types import User


@strawberry.type
class ItemQueries:
    @strawberry.field(description="An item you may see; null with NOT_FOUND otherwise.")
    async def item(self, info: Info, id: strawberry.ID) -> Item | None:
        services, principal = info.context.services, info.context.principal
        item_id = database_id(info, id, "Item")
        if reaches(info, "owner"):  # one statement for both
            item, owner = await services.items.get_with_owner(principal, item_id)
            return Item.of(item, User.of(owner))
        return Item.loading_owner(info, await services.items.get(principal, item_id))

    @strawberry.field(
        description="Items you may see, newest first unless `orderBy` says otherwise."
    )
    async def items(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: ItemFilter | None = None,
        order_by: ItemSort = DEFAULT_SORT,
    ) -> ItemConnection:
        principal = info.context.principal
        services = info.context.services
        query = item_query(filter, order_by)
        paging = window(first, after, last, before)
        info.context.resolving(query)

        async def count() -> int:
            return await services.items.count(principal, query)

        # With owners selected, the page and its owners come from one statement, which reads
        # only the columns the selection reads.
        reads, owners = page_reads(info)
        page = await services.items.slice(principal, query, paging, owners=owners, reads=reads)
        return ItemConnection.of(info, page, count, reads=reads)
