"""The fan-out's rules in memory: who is offered an event, and the bounded backlog."""

from __future__ import annotations

from datetime import UTC, datetime

from tandem.domain.events.records import EventRecord, EventType, Position
from tandem.domain.principal import Viewer
from tandem.domain.realtime.changes import change_of
from tandem.domain.realtime.fanout import Fanout


def event(number: int, *, owner: int = 1, draft: bool = False) -> EventRecord:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return EventRecord(
        id=f"evt_{number}",
        type=EventType.ITEM_CREATED,
        item_id=number,
        owner_id=owner,
        draft=draft,
        data={
            "item": {
                "id": number,
                "owner_id": owner,
                "title": f"Item {number}",
                "price": "1.50",
                "tags": [],
                "status": "draft" if draft else "published",
                "version": 1,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
        },
        created_at=moment,
        position=Position(number, number),
    )


def test_a_draft_is_offered_to_its_owner_and_admins_only():
    fanout = Fanout()
    owner = fanout.add(Viewer(1, False), owner_id=None)
    other = fanout.add(Viewer(2, False), owner_id=None)
    admin = fanout.add(Viewer(3, True), owner_id=None)
    fanout.publish([event(1, owner=1, draft=True), event(2, owner=1)])
    assert [e.id for e in owner.take()] == ["evt_1", "evt_2"]
    assert [e.id for e in admin.take()] == ["evt_1", "evt_2"]
    assert [e.id for e in other.take()] == ["evt_2"]


def test_the_owner_filter_narrows_to_one_owner():
    fanout = Fanout()
    narrowed = fanout.add(Viewer(9, False), owner_id=2)
    fanout.publish([event(1, owner=1), event(2, owner=2)])
    assert [e.id for e in narrowed.take()] == ["evt_2"]


def test_a_subscriber_past_its_backlog_is_ended_and_its_queue_dropped():
    fanout = Fanout(backlog=3)
    slow = fanout.add(Viewer(1, False), owner_id=None)
    fast = fanout.add(Viewer(2, False), owner_id=None)
    fanout.publish([event(1), event(2), event(3)])
    assert len(fast.take()) == 3
    fanout.publish([event(4)])
    assert slow.ended == "slow" and slow.pending == 0
    assert fast.ended is None and len(fast.take()) == 1
    fanout.publish([event(5)])  # an ended subscriber holds nothing more
    assert slow.pending == 0


def test_every_subscriber_shares_one_change_per_event():
    record = event(1)
    first, second = change_of(record), change_of(record)
    assert first is second
    assert first.item is not None and str(first.item.price) == "1.50"
