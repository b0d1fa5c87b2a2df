"""`node` and `nodes`: any object by global ID, through the same loaders as everything else."""

from __future__ import annotations

import asyncio

import strawberry

from tandem.domain import global_ids
from tandem.domain.pages import check_ids
from tandem.domain.users.service import may_look_up
from tandem.graphql.context import Info
from tandem.graphql.items.types import Item
from tandem.graphql.relay import Node
from tandem.graphql.users.types import User


async def _resolve(info: Info, global_id: str) -> Node | None:
    """The object, or null when the ID is garbage, of an unknown type, or not visible to you."""
    decoded = global_ids.decode(global_id)
    if decoded is None:
        return None
    type_name, number = decoded
    loaders = info.context.loaders
    if type_name == "Item":
        item = await loaders.item.load(number)
        return Item.loading_owner(info, item) if item is not None else None
    if type_name == "User":
        principal = info.context.principal
        if principal is not None and not may_look_up(principal, number):
            return None
        user = await loaders.user.load(number)
        return User.of(user) if user is not None else None
    return None


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by global ID; null when you may not see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await _resolve(info, id)

    @strawberry.field(
        description="Objects by global ID (at most 100), in order; null where you may not see one."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        check_ids(len(ids))
        return list(await asyncio.gather(*(_resolve(info, global_id) for global_id in ids)))
