"""What callers may ask of the items domain."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tandem.domain.items.records import DEFAULT_SORT, ItemFilters, ItemSort
from tandem.domain.values import UNSET, Unset


@dataclass(frozen=True, slots=True)
class CreateItem:
    title: str
    description: str | None = None
    price: Decimal | None = None
    tags: list[str] | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateItem:
    title: str | Unset = UNSET
    description: str | Unset | None = UNSET
    price: Decimal | Unset | None = UNSET
    tags: list[str] | Unset | None = UNSET
    status: str | Unset = UNSET


@dataclass(frozen=True, slots=True)
class ItemQuery(ItemFilters):
    """A list's filters (`ItemFilters`), and its order."""

    sort: ItemSort = DEFAULT_SORT
