"""GraphQL inputs for items, and their translation to domain commands."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry

from tandem.domain import global_ids
from tandem.domain.errors import ValidationFailed
from tandem.domain.items.commands import CreateItem, ItemQuery, UpdateItem
from tandem.domain.items.records import DEFAULT_SORT, ItemSort, ItemStatus


@strawberry.input
class ItemFilter:
    owner_id: strawberry.ID | None = None
    status: ItemStatus | None = None
    tag: str | None = None
    q: str | None = None


@strawberry.input
class CreateItemInput:
    title: str
    description: str | None = None
    price: Decimal | None = None
    tags: list[str] | None = None
    status: ItemStatus | None = None


@strawberry.input
class UpdateItemInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    status: ItemStatus | None = strawberry.UNSET


def item_query(filter: ItemFilter | None, order: ItemSort | None = None) -> ItemQuery:
    sort = order or DEFAULT_SORT
    if filter is None:
        return ItemQuery(sort=sort)
    owner_id = None
    if filter.owner_id is not None:
        owner_id = global_ids.decode_as(filter.owner_id, "User")
        if owner_id is None:
            raise ValidationFailed.one(("filter", "ownerId"), "is not the id of a User", "id")
    return ItemQuery(
        owner_id=owner_id,
        status=filter.status.value if filter.status is not None else None,
        tag=filter.tag,
        q=filter.q,
        sort=sort,
    )


def create_command(data: CreateItemInput) -> CreateItem:
    return CreateItem(
        title=data.title,
        description=data.description,
        price=data.price,
        tags=data.tags,
        status=data.status.value if data.status is not None else None,
    )


def update_command(data: UpdateItemInput) -> UpdateItem:
    values: dict[str, Any] = {}
    for name in ("title", "description", "price", "tags", "status"):
        value = getattr(data, name)
        if value is strawberry.UNSET:
            continue
        values[name] = value.value if isinstance(value, ItemStatus) else value
    return UpdateItem(**values)
