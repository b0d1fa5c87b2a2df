"""The events API's use cases: what changed, oldest first, as far as the caller may see.

The stream's order and its cursor: see `Position` (tandem/domain/events/records.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem.domain.errors import NotFound, ValidationFailed
from tandem.domain.events.ids import looks_like_event_id
from tandem.domain.events.ports import EventStore
from tandem.domain.events.records import EVENT_TYPES, EventRecord, Position
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.pages import MAX_PAGE_SIZE
from tandem.domain.principal import ITEMS_READ, Principal, signed_in
from tandem.domain.wording import number, one_of


@dataclass(frozen=True, slots=True)
class EventSlice:
    events: list[EventRecord]
    has_more: bool

    @property
    def next_cursor(self) -> str | None:
        """The id to pass as `after` for the next page; None at the end of the stream so far."""
        return self.events[-1].id if self.has_more else None


def parse_types(value: str | None) -> tuple[str, ...] | None:
    """`item.created`, a comma-separated list, or a `item.*` wildcard; None for every type."""
    if value is None or value.strip() in ("", "*"):
        return None
    wanted: list[str] = []
    for part in (piece.strip() for piece in value.split(",")):
        if part.endswith(".*"):
            matched = [kind for kind in EVENT_TYPES if kind.startswith(part[:-1])]
        else:
            matched = [part] if part in EVENT_TYPES else []
        if not matched:
            rule = one_of([*EVENT_TYPES, "item.*"]) + " (or several, comma-separated)"
            raise ValidationFailed.one(("type",), rule, "enum")
        wanted.extend(kind for kind in matched if kind not in wanted)
    return tuple(wanted)


class EventService:
    def __init__(self, *, database: ScopedStore) -> None:
        self._database = database

    async def list(
        self, principal: Principal | None, *, type: str | None, after: str | None, limit: int
    ) -> EventSlice:
        """Events the caller may see (its own items', and every non-draft's), oldest first."""
        caller = signed_in(principal, scope=ITEMS_READ)
        types = parse_types(type)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationFailed.one(("limit",), number(1, MAX_PAGE_SIZE), "range")
        async with self._database.reader() as uow:
            position = None if after is None else await position_after(uow.events, after, caller)
            rows = await uow.events.visible_page(
                caller.viewer, after=position, types=types, limit=limit + 1
            )
        return EventSlice(rows[:limit], len(rows) > limit)

    async def get(self, principal: Principal | None, event_id: str) -> EventRecord:
        caller = signed_in(principal, scope=ITEMS_READ)
        async with self._database.reader() as uow:
            event = await _visible(uow.events, event_id, caller)
        if event is None:
            raise NotFound.missing("event", event_id)
        return event


async def position_after(store: EventStore, after: str, caller: Principal) -> Position:
    """Where a cursor (an event id the caller may see) sits; 422 at `after` otherwise.

    The one reading of `after`, for GET /events and for `itemChanged(after:)` alike.
    """
    start = await _visible(store, after, caller)
    if start is None:
        raise ValidationFailed.one(("after",), "is not an event you can see", "cursor")
    return start.position


async def _visible(store: EventStore, event_id: str, caller: Principal) -> EventRecord | None:
    if not looks_like_event_id(event_id):
        return None
    return await store.get_visible(event_id, caller.viewer)
