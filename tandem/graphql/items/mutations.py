"""Item mutations: thin calls to the same use cases the REST face calls."""

from __future__ import annotations

import strawberry

from tandem.graphql.context import Info
from tandem.graphql.items.inputs import (
    CreateItemInput,
    UpdateItemInput,
    create_command,
    update_command,
)
from tandem.graphql.items.types import Item
from tandem.graphql.relay import database_id


@strawberry.type
class ItemMutations:
    @strawberry.mutation(description="Create an item owned by you.")
    async def create_item(self, info: Info, input: CreateItemInput) -> Item:
        services = info.context.services
        item = await services.items.create(info.context.principal, create_command(input))
        return Item.loading_owner(info, item)

    @strawberry.mutation(
        description="Change an item you own; with `expectedVersion`, only if it is still current."
    )
    async def update_item(
        self,
        info: Info,
        id: strawberry.ID,
        input: UpdateItemInput,
        expected_version: int | None = None,
    ) -> Item:
        item = await info.context.services.items.update(
            info.context.principal,
            database_id(info, id, "Item"),
            update_command(input),
            expected_version=expected_version,
        )
        return Item.loading_owner(info, item)

    @strawberry.mutation(description="Delete an item you own; answers its id.")
    async def delete_item(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        await info.context.services.items.delete(
            info.context.principal, database_id(info, id, "Item")
        )
        return id
