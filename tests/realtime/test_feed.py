"""The outbox feed against the real database: what makes it read, and what makes it wait."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from tandem.domain.events.documents import item_event
from tandem.domain.events.records import EventRecord, EventType
from tandem.domain.principal import Viewer
from tandem.domain.realtime.changes import change_of
from tandem.domain.realtime.fanout import Fanout, Subscriber
from tandem.persistence.database import asyncpg_dsn
from tandem.persistence.realtime import feed as feed_module
from tandem.persistence.realtime.feed import OutboxFeed
from tests.factories import item_record, make_user

MOMENT = datetime(2026, 1, 1, tzinfo=UTC)


@contextlib.asynccontextmanager
async def running_feed(services) -> AsyncIterator[tuple[OutboxFeed, Subscriber]]:
    fanout = Fanout()
    subscriber = fanout.add(Viewer(1, True), owner_id=None)
    feed = OutboxFeed(services.database, fanout)
    task = asyncio.create_task(feed.run())
    try:
        async with asyncio.timeout(30):
            while feed.cursor is None:  # noqa: ASYNC110 (the feed sets no event for its start)
                await asyncio.sleep(0.01)
        yield feed, subscriber
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Wait for what the feed's own task does (a read, a log line), however loaded the machine."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def write(services, number: int) -> str:
    """One committed event (the NOTIFY goes out with it, on commit)."""
    item = item_record(id=number, title=f"Item {number}", now=MOMENT)
    event = item_event(EventType.ITEM_CREATED, item)
    async with services.database.transaction() as uow:
        await uow.events.append(event)
    return event.public_id


async def received(subscriber: Subscriber, count: int, within: float = 10.0) -> list[EventRecord]:
    got: list[EventRecord] = []
    async with asyncio.timeout(within):
        while len(got) < count:
            await subscriber.wait()
            got.extend(subscriber.take())
    return got


async def test_a_notification_after_the_read_that_returned_its_event_makes_nothing_wait(
    services, settings, monkeypatch, caplog
):
    # The race the soak hit: the read woken by one notification already returned the next
    # event too; that event's own notification arrives afterwards. Before, the feed kept its
    # id as pending, polled about once a second with wake-ups ignored, and warned about it.
    monkeypatch.setattr(feed_module, "PENDING_GIVE_UP_SECONDS", 0.5, raising=False)
    monkeypatch.setattr(feed_module, "HELD_WARN_SECONDS", 0.5, raising=False)
    caplog.set_level(logging.WARNING, logger="tandem.realtime")
    async with running_feed(services) as (feed, subscriber):
        first = await write(services, 1)
        assert [event.id for event in await received(subscriber, 1)] == [first]
        # One more read follows the one that found it (0.1 s later: events flowed); then the
        # feed is idle, waiting its 5 s poll or a notification.
        reads = feed.reads
        await until(lambda: feed.reads > reads)
        reads = feed.reads
        listener = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            await listener.execute("SELECT pg_notify('tandem_events', $1)", first)  # late
        finally:
            await listener.close()
        await until(lambda: feed.reads > reads)  # the late notification woke the feed: a read
        reads = feed.reads
        await asyncio.sleep(2.5)
        # Nothing was written: a feed that is not polling does not read (its fallback is 5 s).
        assert feed.reads == reads
        assert feed.held_since is None
        second = await write(services, 2)
        assert [event.id for event in await received(subscriber, 1)] == [second]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


async def test_an_event_held_behind_a_running_transaction_comes_when_it_ends(
    services, settings, monkeypatch, caplog
):
    monkeypatch.setattr(feed_module, "HELD_WARN_SECONDS", 0.5)
    caplog.set_level(logging.WARNING, logger="tandem.realtime")
    async with running_feed(services) as (feed, subscriber):
        older = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            holding = older.transaction()
            await holding.start()
            await older.fetchval("SELECT pg_current_xact_id()")  # an xid: the horizon stays here
            held = await write(services, 1)
            with pytest.raises(TimeoutError):
                await received(subscriber, 1, within=1.0)
            await until(lambda: feed.held_since is not None)  # the read that found it held
            await until(lambda: "waited" in caplog.text)  # a true hold, logged once it lasted
            await holding.rollback()  # no notification comes with this: the feed polls for it
        finally:
            await older.close()
        assert [event.id for event in await received(subscriber, 1)] == [held]
        await until(lambda: feed.held_since is None)  # the read that sent it has ended


async def test_a_batch_s_owners_are_loaded_with_one_statement(services):
    # Each event's owner used to be loaded by the first subscriber that showed it, one
    # statement per event; at 100 commits/s that alone put the stream seconds behind.
    owners = [await make_user(services) for _ in range(3)]
    statements: list[str] = []
    async with running_feed(services) as (_feed, subscriber):
        services.database.observers.append(statements.append)
        try:
            async with services.database.transaction() as uow:  # one batch: one commit
                for number in range(60):
                    owner = owners[number % 3]
                    item = item_record(
                        id=1_000 + number, owner_id=owner.id, title=f"Item {number}", now=MOMENT
                    )
                    await uow.events.append(item_event(EventType.ITEM_CREATED, item))
            got = await received(subscriber, 60)
        finally:
            services.database.observers.remove(statements.append)
    names = {owner.id: owner.name for owner in owners}
    for event in got:
        change = change_of(event)
        assert change.owner is not None and change.owner.name == names[event.owner_id]
    assert len([sql for sql in statements if "FROM users" in sql]) == 1, statements


async def test_a_lost_wake_up_costs_at_most_the_poll_and_less_while_events_flow(
    services, monkeypatch
):
    # Wake-ups are sent after the commit, outside the writer's transaction; one can be lost
    # (its connection dropped). The feed polls: 5 s when idle, 0.1 s after a read that
    # found events.
    monkeypatch.setattr(services.database.wakeups, "send", lambda wakes: None)  # all lost
    async with running_feed(services) as (_feed, subscriber):
        await asyncio.sleep(0.3)  # idle: the feed waits its full poll
        started = asyncio.get_running_loop().time()
        first = await write(services, 1)
        assert [event.id for event in await received(subscriber, 1, within=8)] == [first]
        assert asyncio.get_running_loop().time() - started <= 6.5
        second = await write(services, 2)  # events flow: the next poll is 0.1 s away
        started = asyncio.get_running_loop().time()
        assert [event.id for event in await received(subscriber, 1, within=8)] == [second]
        assert asyncio.get_running_loop().time() - started < 2.0
