"""The shapes lists come back in, the same for every feature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from tandem.domain.errors import ValidationFailed

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """An offset page: `{items, total, page, size, pages}`."""

    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return (self.total + self.size - 1) // self.size


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """A keyset slice: the rows after a cursor, and whether more follow."""

    items: list[T]
    cursors: list[str]
    has_more: bool


def check_page(page: int, size: int) -> None:
    if page < 1:
        raise ValidationFailed.one(("page",), "must be 1 or more", "greater_than_equal")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed.one(("size",), f"must be between 1 and {MAX_PAGE_SIZE}", "range")


def check_first(first: int, *, loc: str = "first") -> None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ValidationFailed.one((loc,), f"must be between 1 and {MAX_PAGE_SIZE}", "range")
