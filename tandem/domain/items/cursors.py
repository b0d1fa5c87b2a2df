"""Opaque keyset cursors: the sort they belong to, the sort value and the id of a row."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tandem.domain.errors import ValidationFailed
from tandem.domain.items.records import ItemRecord, ItemSort, Keyset, sort_value


def encode(item: ItemRecord, sort: ItemSort) -> str:
    value = sort_value(item, sort)
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([sort, value, item.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, sort: ItemSort, *, loc: str) -> Keyset:
    """The position a cursor names; BAD input when it is garbage or from another sort order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, value, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if name != sort or not isinstance(item_id, int):
            raise ValueError(name)
        return Keyset(value=_typed(value, sort), id=item_id)
    except (ValueError, TypeError, binascii.Error, InvalidOperation, json.JSONDecodeError):
        raise ValidationFailed.one(
            (loc,), "is not a cursor of this list (or of this sort order)", "cursor"
        ) from None


def _typed(value: Any, sort: ItemSort) -> Any:
    name = sort.column
    if name == "created_at":
        return datetime.fromisoformat(value)
    if name == "price":
        return Decimal(value)
    if not isinstance(value, str):
        raise TypeError(value)
    return value
