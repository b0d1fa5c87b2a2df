"""What the outbox holds: one event per change to an item, and where it sits in the stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    ITEM_CREATED = "item.created"
    ITEM_UPDATED = "item.updated"
    ITEM_DELETED = "item.deleted"


EVENT_TYPES: tuple[str, ...] = tuple(kind.value for kind in EventType)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to write in the transaction of the change it announces."""

    public_id: str
    type: EventType
    item_id: int
    owner_id: int
    draft: bool  # who may see it: a draft's events only its owner and admins
    data: dict[str, Any]  # {"item": <the item as GET /items/{id} shows it>}


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where an event sits in the stream: its transaction's id, then its row id.

    Events are listed in this order and only below the oldest transaction still
    running, so a cursor never skips an event that commits late.
    """

    txid: int
    seq: int


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str  # evt_..., the public id (and every delivery's webhook-id)
    type: EventType
    item_id: int
    owner_id: int
    draft: bool
    data: dict[str, Any]
    created_at: datetime
    position: Position
