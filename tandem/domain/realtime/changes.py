"""One event as subscribers see it: built once per event and process, shared by every subscriber.

The fan-out (tandem/persistence/realtime) reads a batch of events and loads their
owners with one statement for the whole batch; `change_of` then keeps, for the
latest events, one `ItemChange` holding the decoded item and its owner, so no
subscriber loads an owner per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from tandem.domain.events.records import EventRecord, EventType
from tandem.domain.items.records import DOCUMENT, ItemRecord
from tandem.domain.users.records import UserRecord


@dataclass(frozen=True, slots=True, weakref_slot=True, eq=False)  # shared: by identity
class ItemChange:
    """One event as subscribers see it (one object per event, shared by all of them);
    `item` is None for a deletion; `owner` is the item's owner as the fan-out loaded it
    with the event's batch (None: not loaded, or gone: whoever shows it loads it)."""

    type: EventType
    item_id: int
    item: ItemRecord | None
    event_id: str  # evt_..., also the cursor to resume after (GET /events?after= takes it)
    owner: UserRecord | None = None


def change_of(event: EventRecord, owner: UserRecord | None = None) -> ItemChange:
    """The event as subscribers see it, built once per event (the fan-out shares it)."""
    change = _changes.get(event.id)
    if change is None:
        item = None if event.type is EventType.ITEM_DELETED else DOCUMENT.decode(event.data["item"])
        change = ItemChange(
            type=event.type,
            item_id=event.item_id,
            item=item,
            event_id=event.id,
            owner=None if item is None else owner,
        )
        _changes[event.id] = change
        if len(_changes) > _CHANGES_KEPT:
            del _changes[next(iter(_changes))]
    elif change.owner is None and owner is not None and change.item is not None:
        change = _changes[event.id] = replace(change, owner=owner)
    return change


def owner_ids(events: Iterable[EventRecord]) -> list[int]:
    """The owners a batch of events shows (a deletion shows none), each once."""
    return sorted({e.owner_id for e in events if e.type is not EventType.ITEM_DELETED})


def prepare(events: Iterable[EventRecord], owners: Mapping[int, UserRecord]) -> None:
    """Build each event's change with its owner, before any subscriber asks for it."""
    for event in events:
        change_of(event, owners.get(event.owner_id))


# The latest events' changes, so every subscriber of a process shares one object per event.
_CHANGES_KEPT = 4096
_changes: dict[str, ItemChange] = {}
