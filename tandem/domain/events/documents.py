"""The JSON an event is shown as: by the events API, in webhook bodies, and in the outbox's data.

`item_document` is the item exactly as `GET /items/{id}` renders it (pydantic's
JSON: decimals and datetimes as strings, UTC as `Z`); a test holds the two equal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tandem.domain import global_ids
from tandem.domain.events.ids import new_event_id
from tandem.domain.events.records import EventRecord, EventType, NewEvent
from tandem.domain.items.records import ItemRecord


def iso(moment: datetime) -> str:
    """ISO 8601 as the REST face writes it: UTC as `Z`."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def item_document(item: ItemRecord) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": global_ids.encode("Item", item.id),
        "title": item.title,
        "description": item.description,
        "price": None if item.price is None else str(item.price),
        "tags": list(item.tags),
        "status": str(item.status),
        "owner_id": item.owner_id,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "version": item.version,
    }


def item_event(kind: EventType, item: ItemRecord) -> NewEvent:
    """The event announcing `kind` for `item` (after the change; before it, for a delete)."""
    if kind is EventType.ITEM_DELETED:
        shown: dict[str, Any] = {"id": item.id, "node_id": global_ids.encode("Item", item.id)}
    else:
        shown = item_document(item)
    return NewEvent(
        public_id=new_event_id(),
        type=kind,
        item_id=item.id,
        owner_id=item.owner_id,
        draft=str(item.status) == "draft",
        data={"item": shown},
    )


def event_document(event: EventRecord) -> dict[str, Any]:
    """`{id, type, created_at, data: {item}}`: the events API's answer and a webhook's body."""
    return {
        "id": event.id,
        "type": str(event.type),
        "created_at": iso(event.created_at),
        "data": event.data,
    }
