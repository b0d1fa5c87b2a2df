"""The shapes lists come back in, the same for every feature."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tandem.domain import wording
from tandem.domain.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_OFFSET = 2**63 - 1  # PostgreSQL's OFFSET is a bigint: a page past it is refused, not a crash


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """An offset page: `{items, total, page, size, pages}`, and the cursor that continues it."""

    items: list[T]
    total: int
    page: int
    size: int
    next_cursor: str | None = None
    # The items' owners by id, when the list was asked for with them (one statement).
    owners: dict[int, Any] = field(default_factory=dict)

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    @property
    def pages(self) -> int:
        return (self.total + self.size - 1) // self.size


@dataclass(frozen=True, slots=True)
class Rows(Generic[T]):
    """Rows read from a keyset position, nearest first, and whether any lies behind it."""

    rows: list[T]
    behind: bool = False
    owners: dict[int, Any] = field(default_factory=dict)  # as on Page


@dataclass(frozen=True, slots=True)
class Reads:
    """The fields of a list's records, and of their owners', that its caller reads (None: all).

    A store reads at least those, and may read only those: a page that shows four fields
    of fifty items need not decode the others (persistence/items/lists.py has the figures).
    Its records are then partial: a field not read is unset, and reading it raises
    AttributeError rather than passing a made-up value for data.
    """

    items: frozenset[str] | None = None
    owners: frozenset[str] | None = None
    cursors: bool = True  # whether the caller makes cursors (they hold the sort value)

    def with_items(self, *names: str) -> Reads:
        """These, and the item fields `names` too (what the list itself needs of a row)."""
        if self.items is None or self.items.issuperset(names):
            return self
        return Reads(self.items | set(names), self.owners, self.cursors)


EVERYTHING = Reads()


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """A keyset slice: the rows after a cursor, whether more follow, and their cursors.

    Cursors are made on demand (`cursor_of`): most clients never ask for them.
    """

    items: list[T]
    cursor_of: Callable[[T], str]
    has_more: bool  # a page follows
    has_previous: bool = False  # a page comes before (known when `Window.look_behind`)
    owners: dict[int, Any] = field(default_factory=dict)  # as on Page

    @property
    def next_cursor(self) -> str | None:
        """The cursor to continue from, or None at the end."""
        return self.cursor_of(self.items[-1]) if self.has_more and self.items else None


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows of a list to read: `size` after `cursor`, or (`backward`) before it.

    `look_behind` also learns whether rows lie on the cursor's other side (a Relay
    connection's `hasPreviousPage`, or `hasNextPage` paging backward), in the same statement.
    """

    size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    backward: bool = False
    look_behind: bool = False
    loc: tuple[str, ...] = ("after",)  # where the cursor came from, for errors

    @classmethod
    def of(
        cls,
        *,
        first: int | None,
        after: str | None,
        last: int | None = None,
        before: str | None = None,
        look_behind: bool = True,
    ) -> Window:
        """A Relay connection's arguments, checked: one direction at a time, each 1..100."""
        if last is None and before is None:
            size = DEFAULT_PAGE_SIZE if first is None else first
            check_first(size)
            return cls(size, after, look_behind=look_behind)
        if first is not None or after is not None:
            raise ValidationFailed.one(
                ("last" if first is not None else "after",),
                "page one way at a time: first/after, or last/before",
                "value_error",
            )
        size = DEFAULT_PAGE_SIZE if last is None else last
        check_first(size, loc="last")
        return cls(size, before, backward=True, look_behind=look_behind, loc=("before",))


def encode_id_cursor(database_id: int) -> str:
    """A cursor for lists in id order (users)."""
    return base64.urlsafe_b64encode(f"id:{database_id}".encode()).decode().rstrip("=")


def decode_id_cursor(cursor: str, *, loc: tuple[str, ...] = ("after",)) -> int:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        prefix, _, number = raw.partition(":")
        if prefix == "id" and number.isdigit() and len(number) <= 18:
            return int(number)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise ValidationFailed.one(loc, "is not a cursor of this list", "cursor")


def check_page(page: int, size: int) -> None:
    if page < 1:
        raise ValidationFailed.one(("page",), wording.number(1, None), "greater_than_equal")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed.one(("size",), wording.number(1, MAX_PAGE_SIZE), "range")
    if (page - 1) * size > MAX_OFFSET:
        last = MAX_OFFSET // size + 1
        raise ValidationFailed.one(
            ("page",), f"must be at most {last} at size {size}", "less_than_equal"
        )


def check_ids(count: int, *, loc: str = "ids") -> None:
    """A lookup by ids is bounded like a page: at most MAX_PAGE_SIZE ids at once."""
    if count > MAX_PAGE_SIZE:
        raise ValidationFailed.one((loc,), wording.entries(None, MAX_PAGE_SIZE), "too_long")


def check_first(first: int, *, loc: str = "first") -> None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ValidationFailed.one((loc,), wording.number(1, MAX_PAGE_SIZE), "range")
