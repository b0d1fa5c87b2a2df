"""The JSON an event is shown as: by the events API, in webhook bodies, and in the outbox's data.

The item in it is the item's one document (`records.DOCUMENT`), exactly as
`GET /items/{id}` renders it; a test holds the two equal.
"""

from __future__ import annotations

from typing import Any

from tandem.domain import global_ids
from tandem.domain.documents import iso
from tandem.domain.events.ids import new_event_id
from tandem.domain.events.records import EventRecord, EventType, NewEvent
from tandem.domain.items.records import DOCUMENT, ItemRecord


def item_event(kind: EventType, item: ItemRecord) -> NewEvent:
    """The event announcing `kind` for `item` (after the change; before it, for a delete)."""
    if kind is EventType.ITEM_DELETED:
        shown: dict[str, Any] = {"id": item.id, "node_id": global_ids.encode("Item", item.id)}
    else:
        shown = DOCUMENT.encode(item)
    return NewEvent(
        public_id=new_event_id(),
        type=kind,
        item_id=item.id,
        owner_id=item.owner_id,
        draft=str(item.status) == "draft",
        data={"item": shown},
    )


def event_document(event: EventRecord) -> dict[str, Any]:
    """`{id, type, created_at, data: {item}}`: the events API's answer and a webhook's body.

    The item is stored as `DOCUMENT.encode` wrote it and shown under its public keys.
    """
    data = event.data
    item = data.get("item")
    if isinstance(item, dict):
        shown = DOCUMENT.publish(item)
        if shown is not item:
            data = {**data, "item": shown}
    return {
        "id": event.id,
        "type": str(event.type),
        "created_at": iso(event.created_at),
        "data": data,
    }
