"""What an item is, how lists of items are filtered and ordered: defined once, for every layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


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


@dataclass(frozen=True, slots=True)
class ItemRecord:
    id: int
    owner_id: int
    title: str
    description: str | None
    price: Decimal | None
    tags: list[str]
    status: str  # an ItemStatus value, as the database returns it
    version: int
    created_at: datetime
    updated_at: datetime
    # How well the item matched the list's `q`, on lists sorted by relevance (else None):
    # the value such a list is ordered and its cursors positioned by.
    rank: float | None = None


@dataclass(frozen=True, slots=True)
class ItemFilters:
    owner_id: int | None = None
    status: str | None = None
    tag: str | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class Keyset:
    """The position of the last row seen: its sort value and its id."""

    value: Any
    id: int


def sort_value(item: ItemRecord, sort: ItemSort) -> Any:
    """The value `sort` orders `item` by, as the statement compares it."""
    if sort.column == "price":
        return item.price if item.price is not None else NO_PRICE
    if sort is ItemSort.RELEVANCE:
        return item.rank
    return getattr(item, sort.column)
