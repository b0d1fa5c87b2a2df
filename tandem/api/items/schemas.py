"""REST shapes for items."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainValidator, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from tandem.api.schemas import NO_NUL, NOT_BLANK, Input, PageOut
from tandem.api.users.schemas import UserPublic, public
from tandem.domain import global_ids
from tandem.domain.items.records import DEFAULT_STATUS, DOCUMENT, ItemRecord, ItemStatus
from tandem.domain.items.rules import (
    DESCRIPTION_MAX_LENGTH,
    MAX_SEARCH_TERMS,
    MAX_TAGS,
    PRICE_MAX,
    Q_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from tandem.domain.users.records import UserRecord
from tandem.domain.wording import decimal_string

Title = Annotated[
    str, Field(min_length=1, max_length=TITLE_MAX_LENGTH, json_schema_extra=NOT_BLANK)
]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH, json_schema_extra=NO_NUL)]
# Up to PRICE_MAX, with at most 2 places, as a string: a JSON number would be a binary float.
PRICE_PATTERN = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$"
_PRICE = re.compile(PRICE_PATTERN)
PRICE_RULE = decimal_string(2)  # the domain's words, so both faces say the same


def _price(value: Any) -> Decimal:
    """The pattern, searched as JSON Schema validators do, then the decimal it spells."""
    if isinstance(value, str) and _PRICE.search(value):
        return Decimal(value.strip())
    raise PydanticCustomError("decimal_string", PRICE_RULE)


Price = Annotated[
    Decimal,
    PlainValidator(_price),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PRICE_PATTERN,
            "examples": ["19.99"],
            "description": f"A non-negative decimal string, at most {PRICE_MAX}",
        },
        mode="validation",
    ),
]
Tags = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=TAG_MAX_LENGTH, json_schema_extra=NO_NUL)]],
    Field(max_length=MAX_TAGS),
]

# At most MAX_SEARCH_TERMS words, split as the domain splits them (whitespace or NUL).
SEARCH = {
    "pattern": f"^[\\s\\u0000]*([^\\s\\u0000]+([\\s\\u0000]+[^\\s\\u0000]+)"
    f"{{0,{MAX_SEARCH_TERMS - 1}}})?[\\s\\u0000]*$"
}

# Fields the server owns. A client that sends an item back as it read it is not refused:
# these are dropped, never applied (the owner is always the caller).
# (`version` is the revision's name in API 2026-12-01, which such a client may echo.)
READ_ONLY = frozenset(
    {"id", "node_id", "owner_id", "owner", "revision", "version", "created_at", "updated_at"}
)


class ItemInput(Input):
    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in READ_ONLY}
        return data


class ItemCreate(ItemInput):
    title: Title
    description: Description | None = None
    price: Price | None = None
    tags: Tags | None = None
    status: ItemStatus = DEFAULT_STATUS


class ItemUpdate(ItemInput):
    # A title or status may be left out, never cleared: null is refused, so not documented.
    title: Title | SkipJsonSchema[None] = None
    description: Description | None = None
    price: Price | None = None
    tags: Tags | None = None
    status: ItemStatus | SkipJsonSchema[None] = None


class ItemFilterQuery(BaseModel):
    """A list's filters as query parameters: one per field of the domain's `ItemFilters`."""

    owner_id: Annotated[int | None, Field(ge=1, le=2**63 - 1)] = None
    status: ItemStatus | None = None
    tag: Annotated[
        str | None, Field(min_length=1, max_length=TAG_MAX_LENGTH, json_schema_extra=NO_NUL)
    ] = None
    q: Annotated[
        str | None,
        Field(
            max_length=Q_MAX_LENGTH,
            description=f"Up to {MAX_SEARCH_TERMS} words to find in titles and descriptions",
            json_schema_extra=SEARCH,
        ),
    ] = None


class ItemOut(BaseModel):
    id: int
    node_id: str
    title: str
    description: str | None
    price: Decimal | None = Field(description='A decimal string such as "19.99", or null')
    tags: list[str]
    status: ItemStatus
    owner_id: int
    created_at: datetime
    updated_at: datetime
    revision: int = Field(description="Grows by one on every change; the ETag carries it")


# The models' own rendering of a record, field by field by name: what render.py must write
# byte for byte (tests/api/test_render.py compares the two).
def item_out(item: ItemRecord) -> ItemOut:
    fields = {DOCUMENT.shown.get(name, name): name for name in DOCUMENT.fields}  # by key
    values = {
        name: getattr(item, fields[name]) for name in ItemOut.model_fields if name != "node_id"
    }
    values["status"] = ItemStatus(item.status)
    return ItemOut.model_construct(node_id=global_ids.encode("Item", item.id), **values)


class ItemExpanded(ItemOut):
    """An item read with `expand=owner`: its owner's public view embedded."""

    owner: UserPublic


def expanded_out(item: ItemRecord, owner: UserRecord) -> ItemExpanded:
    return ItemExpanded.model_construct(**item_out(item).__dict__, owner=public(owner))


class ItemPage(PageOut[ItemExpanded | ItemOut]):
    """A page of items: each with `owner` when read with `expand=owner`."""


# What `expand` may name: the relations an item read can embed, from the same statement.
Expandable = Literal["owner"]
EXPAND_DESCRIPTION = "Embed related objects: `owner` (the owner's public view). Repeatable."


def etag(item: ItemRecord) -> str:
    return f'"item-{item.id}-v{item.version}"'


def version_in(tag: str, item_id: int) -> int | None:
    """The version a strong ETag of ours names for this item, or None.

    If-Match compares strongly (RFC 9110 §13.1.1): a weak tag (`W/"…"`) names no version.
    """
    tag = tag.strip()
    prefix = f'"item-{item_id}-v'
    if tag.startswith(prefix) and tag.endswith('"') and tag[len(prefix) : -1].isdigit():
        return int(tag[len(prefix) : -1])
    return None
