"""What the event use cases need from storage; tandem/persistence/events implements it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tandem.domain.events.records import EventRecord, NewEvent, Position
from tandem.domain.principal import Viewer


class EventStore(Protocol):
    async def append(self, event: NewEvent) -> None:
        """Write the event, queue its webhook deliveries, and NOTIFY on commit."""

    async def append_owner_deletions(self, owner_id: int) -> None:
        """An `item.deleted` event for every item `owner_id` has (an account about to go)."""

    async def visible_page(
        self,
        viewer: Viewer,
        *,
        after: Position | None,
        types: Sequence[str] | None,
        limit: int,
    ) -> list[EventRecord]:
        """Committed events the viewer may see, oldest first, after `after`."""

    async def get_visible(self, event_id: str, viewer: Viewer) -> EventRecord | None: ...

    async def page(self, *, after: Position | None, limit: int) -> list[EventRecord]:
        """Committed events, oldest first, for every viewer (fan-out catch-up)."""

    async def get_many(self, event_ids: Sequence[str]) -> list[EventRecord]: ...

    async def purge(self, *, older_than: datetime, limit: int) -> int:
        """Delete up to `limit` events created before `older_than`; how many went."""
