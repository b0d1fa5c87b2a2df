"""Opaque keyset cursors: the list they belong to, the sort value and the id of a row.

A cursor names its sort order and a digest of its filters, so a cursor made for
another order or filter is refused (VALIDATION_FAILED) rather than quietly
positioning a different list. The same cursor serves both directions: `after`
it and `before` it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tandem.domain.errors import ValidationFailed
from tandem.domain.items.records import (
    FILTERS,
    ItemFilters,
    ItemRecord,
    ItemSort,
    Keyset,
    sort_value,
)
from tandem.domain.items.rules import PRICE_MAX

MISMATCH = "is a cursor of another list: another sort order or other filters"
GARBLED = "is not a cursor of this list"


# How many filters the first cursors were made with. A filter added since counts only when
# given, so the cursors a client holds survive a release that adds a filter.
FIRST_FILTERS = 4


def fingerprint(filters: ItemFilters) -> str:
    """A short digest of the filters a list was made with: every one of them."""
    values = [getattr(filters, entry.name) for entry in FILTERS]
    while len(values) > FIRST_FILTERS and values[-1] is None:
        values.pop()
    raw = json.dumps(values, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def encode(item: ItemRecord, sort: ItemSort, filters: ItemFilters) -> str:
    value = sort_value(item, sort)
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([sort, fingerprint(filters), value, item.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, sort: ItemSort, filters: ItemFilters, *, loc: tuple[str, ...]) -> Keyset:
    """The position a cursor names; VALIDATION_FAILED for garbage or another list's cursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, digest, value, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(item_id, int) or isinstance(item_id, bool) or not 0 < item_id < 2**63:
            raise ValueError(item_id)
        typed = Keyset(value=_typed(value, ItemSort(name)), id=item_id)
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeError):
        raise ValidationFailed.one(loc, GARBLED, "cursor") from None
    if name != sort or digest != fingerprint(filters):
        raise ValidationFailed.one(loc, MISMATCH, "cursor")
    return typed


def _typed(value: Any, sort: ItemSort) -> Any:
    if sort is ItemSort.RELEVANCE:
        if not isinstance(value, float | int) or isinstance(value, bool):
            raise TypeError(value)
        return float(value)
    if sort.column == "created_at":
        return datetime.fromisoformat(value)
    if sort.column == "price":
        if not isinstance(value, str):
            raise TypeError(value)
        price = Decimal(value)
        if not price.is_finite() or abs(price) > PRICE_MAX:  # what the column can hold
            raise ValueError(value)
        return price
    if not isinstance(value, str) or "\x00" in value:  # no stored text holds a NUL
        raise TypeError(value)
    return value
