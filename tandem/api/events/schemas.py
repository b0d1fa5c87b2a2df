"""REST shapes for events: documentation of what `event_document` writes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from tandem.api.items.schemas import ItemOut
from tandem.domain.events.records import EventType


class DeletedItem(BaseModel):
    id: int
    node_id: str


class EventData(BaseModel):
    item: ItemOut | DeletedItem = Field(
        description="The item as GET /items/{id} showed it after the change; for a delete, its ids"
    )


class EventOut(BaseModel):
    id: str = Field(examples=["evt_01jf3k5v9m2c8x4q7r6t0w1y2z"])
    type: EventType
    created_at: datetime
    data: EventData


class EventPage(BaseModel):
    items: list[EventOut]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `after` for the next page")
