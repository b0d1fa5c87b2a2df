"""What an item is, how lists of items are filtered and ordered: defined once, for every layer."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from tandem.domain.documents import Document


class ItemStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ItemSort(StrEnum):
    """A list's order: the column, descending when the value starts with '-'."""

    CREATED_AT_DESC = "-created_at"
    CREATED_AT_ASC = "created_at"
    TITLE_ASC = "title"
    TITLE_DESC = "-title"
    PRICE_ASC = "price"
    PRICE_DESC = "-price"
    RELEVANCE = "relevance"  # the best match first; needs `q`

    @property
    def column(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-") or self is ItemSort.RELEVANCE


DEFAULT_STATUS = ItemStatus.PUBLISHED
DEFAULT_SORT = ItemSort.CREATED_AT_DESC
# NULL prices sort as the lowest, so keyset comparisons never meet a NULL.
NO_PRICE = Decimal(-1)


# A field the public JSON leaves out (tandem/domain/documents.py).
INTERNAL = {"internal": True}


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """An item: the one definition of its fields, in the order its public JSON lists them
    (`node_id` after `id`; tandem/domain/items/document.py). The statements select the
    columns of these names (tandem/persistence/items/lists.py), so rows become records by
    column name, whatever the order here."""

    id: int
    title: str
    description: str | None
    price: Decimal | None
    tags: list[str]
    status: str  # an ItemStatus value, as the database returns it
    owner_id: int
    created_at: datetime
    updated_at: datetime
    # Grows by one on every change (ETags carry it). Public as `revision` (API 2026-12-07);
    # GraphQL and the stored events call it `version`.
    version: int = field(metadata={"public": "revision"})
    # How well the item matched the list's `q`, on lists sorted by relevance (else None):
    # the value such a list is ordered and its cursors positioned by.
    rank: float | None = field(default=None, metadata=INTERNAL)


FilterTest = Literal["equals", "contains", "search"]


def _filter(column: str | None, test: FilterTest = "equals") -> Any:
    """A filter on `column` of the item: equal to the value, containing it, or a search."""
    return field(default=None, metadata={"column": column, "test": test})


@dataclass(frozen=True, slots=True)
class ItemFilters:
    """A list's filters: the one table from which the statement's `where`, the cursor's
    fingerprint, the checks and both faces' arguments are built. A filter named as a field
    is checked by that field's rule (tandem/domain/items/rules.py)."""

    owner_id: int | None = _filter("owner_id")
    status: str | None = _filter("status")
    tag: str | None = _filter("tags", "contains")
    q: str | None = _filter(None, "search")


@dataclass(frozen=True, slots=True)
class Filter:
    name: str
    column: str | None
    test: FilterTest


FILTERS = tuple(
    Filter(entry.name, entry.metadata["column"], entry.metadata["test"])
    for entry in fields(ItemFilters)
)


@dataclass(frozen=True, slots=True)
class Keyset:
    """The position of the last row seen: its sort value and its id."""

    value: Any
    id: int


def sort_field(sort: ItemSort) -> str:
    """The record field `sort_value` reads."""
    return "rank" if sort is ItemSort.RELEVANCE else sort.column


def sort_value(item: ItemRecord, sort: ItemSort) -> Any:
    """The value `sort` orders `item` by, as the statement compares it."""
    if sort.column == "price":
        return item.price if item.price is not None else NO_PRICE
    return getattr(item, sort_field(sort))


# The item's public JSON: GET /items/{id}, the event's `data.item`, the webhook's body.
DOCUMENT = Document(ItemRecord, node="Item")
