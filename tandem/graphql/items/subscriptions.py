"""`itemChanged`: item events as they commit, from whichever process made the change.

Over graphql-transport-ws or graphql-sse; the router (tandem/graphql/router.py)
carries the token, the origin check and the per-connection limit. Each event's
item is the item as the change left it, shown with the subscriber's own
visibility at that moment (tandem/domain/realtime).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum

import strawberry

from tandem.domain import global_ids
from tandem.domain.errors import ValidationFailed
from tandem.graphql.context import Info
from tandem.graphql.items.types import Item, OwnerLoad
from tandem.graphql.loaders import Loaders


@strawberry.enum
class ItemEventKind(Enum):
    CREATED = "item.created"
    UPDATED = "item.updated"
    DELETED = "item.deleted"


@strawberry.type(description="A change to an item; `item` is null for DELETED.")
class ItemEvent:
    kind: ItemEventKind
    item_id: strawberry.ID
    item: Item | None


@strawberry.type
class ItemSubscriptions:
    @strawberry.subscription(
        description="Items created, updated and deleted, as they commit, that you may see; "
        "`ownerId` narrows them to one owner's items."
    )
    async def item_changed(
        self, info: Info, owner_id: strawberry.ID | None = None
    ) -> AsyncGenerator[ItemEvent, None]:
        owner = None
        if owner_id is not None:
            owner = global_ids.decode_as(owner_id, "User")
            if owner is None:
                raise ValidationFailed.one(("ownerId",), "is not the id of a User", "id")
        context = info.context
        changes = context.services.subscriptions.item_changes(
            context.principal, token=context.token, owner_id=owner
        )
        async for change in changes:
            item = None
            if change.item is not None:
                # Fresh loaders per event: a long subscription must not keep a cache forever.
                loaders = Loaders(context.services, context.principal)
                item = Item.of(change.item, OwnerLoad(loaders, change.item.owner_id))
            yield ItemEvent(
                kind=ItemEventKind(str(change.type)),
                item_id=strawberry.ID(global_ids.encode("Item", change.item_id)),
                item=item,
            )
