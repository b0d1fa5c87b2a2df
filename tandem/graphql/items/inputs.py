"""GraphQL inputs for items, and their translation to domain commands."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from tandem.domain import global_ids
from tandem.domain.errors import ValidationFailed
from tandem.domain.items.commands import CreateItem, ItemQuery, UpdateItem
from tandem.domain.items.records import DEFAULT_SORT, FILTERS, ItemSort, ItemStatus


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


def _plain(value: Any) -> Any:
    """A GraphQL enum member as the domain holds it (its value); anything else as it is."""
    return value.value if isinstance(value, Enum) else value


def item_query(filter: ItemFilter | None, order: ItemSort | None = None) -> ItemQuery:
    """The domain's query: every filter of `ItemFilters`, read from the input by name."""
    sort = order or DEFAULT_SORT
    if filter is None:
        return ItemQuery(sort=sort)
    values = {entry.name: _plain(getattr(filter, entry.name)) for entry in FILTERS}
    if values["owner_id"] is not None:
        values["owner_id"] = global_ids.decode_as(values["owner_id"], "User")
        if values["owner_id"] is None:
            raise ValidationFailed.one(("filter", "ownerId"), "is not the id of a User", "id")
    return ItemQuery(**values, sort=sort)


def create_command(data: CreateItemInput) -> CreateItem:
    """The domain's command: every field of `CreateItem`, read from the input by name."""
    return CreateItem(
        **{entry.name: _plain(getattr(data, entry.name)) for entry in fields(CreateItem)}
    )


def update_command(data: UpdateItemInput) -> UpdateItem:
    """The domain's command: the fields of `UpdateItem` the input sets (null included)."""
    values: dict[str, Any] = {}
    for entry in fields(UpdateItem):
        value = getattr(data, entry.name)
        if value is not strawberry.UNSET:
            values[entry.name] = _plain(value)
    return UpdateItem(**values)
