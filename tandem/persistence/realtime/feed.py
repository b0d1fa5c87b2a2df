"""The outbox, read once per process, in commit order, for this process's subscribers.

A dedicated connection LISTENs on `tandem_events`; each notification carries an
event's public id (never its body) and only wakes the feed, which then reads every
event after its cursor, in `Position` order and below the horizon (see
tandem/persistence/events/repository.py), and hands them to the `Fanout`. So
each process reads an event once however many subscribers it has, and nothing is
skipped: an event whose transaction is still behind the horizon is read on the
next try (the notified id stays pending until it is seen).

After the LISTEN connection is lost, the feed reconnects and reads on from its
cursor: subscribers receive what committed meanwhile, in order; one that would
fall more than its backlog behind is cut off as too slow (see Fanout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import select

from tandem.domain.events.records import Position
from tandem.domain.realtime.fanout import Fanout
from tandem.observability import metrics
from tandem.persistence.database import Database
from tandem.persistence.events.channels import EVENTS_CHANNEL
from tandem.persistence.events.listener import Listener
from tandem.persistence.events.repository import horizon
from tandem.persistence.sql import compile_query

log = logging.getLogger("tandem.realtime")

_HORIZON = compile_query(select(horizon()))
BATCH = 500
APPLICATION_NAME = "tandem-subscriptions"  # the LISTEN connection, in pg_stat_activity
PENDING_GIVE_UP_SECONDS = 120.0  # a notified id not readable by then: long transaction, logged


class OutboxFeed:
    def __init__(self, database: Database, fanout: Fanout, *, poll_seconds: float = 5.0) -> None:
        self._database = database
        self._fanout = fanout
        self._poll = poll_seconds
        self._cursor: Position | None = None
        self._wake = asyncio.Event()
        self._pending: dict[str, float] = {}  # notified ids not read yet, and when they came
        self.listener = Listener(
            database.url,
            [EVENTS_CHANNEL],
            self._notified,
            on_reconnect=self._wake.set,
            application_name=APPLICATION_NAME,
        )

    def _notified(self, channel: str, payload: str) -> None:
        self._pending.setdefault(payload, time.monotonic())
        self._wake.set()

    async def run(self) -> None:
        """Listen and fan out until cancelled."""
        listening = asyncio.create_task(self.listener.run())
        try:
            await self.listener.connected.wait()
            while self._cursor is None:
                try:
                    self._cursor = Position(await self._horizon(), 0)
                except Exception as error:  # the database went away again: try again soon
                    log.warning("cannot read the outbox's horizon (%s)", error)
                    await asyncio.sleep(1)
            await self._fan_out()
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def _horizon(self) -> int:
        async with self._database.reader() as uow:
            return int(await uow.connection.value(_HORIZON))

    async def _fan_out(self) -> None:
        retry = 0.005
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._read()
            except Exception as error:  # the database is away: the listener reconnects, we retry
                log.warning("cannot read the outbox (%s); retrying", error)
                await asyncio.sleep(1)
                self._wake.set()
                continue
            if self._pending:  # committed, but behind a transaction still running: read again
                self._forget_stale()
                await asyncio.sleep(retry)
                retry = min(retry * 2, 1.0)
                self._wake.set()
            else:
                retry = 0.005

    async def _read(self) -> None:
        async with self._database.reader() as uow:
            while True:
                events = await uow.events.page(after=self._cursor, limit=BATCH)
                if not events:
                    return
                self._cursor = events[-1].position
                for event in events:
                    self._pending.pop(event.id, None)
                metrics.SUBSCRIPTION_FEED_READS.inc(len(events))
                self._fanout.publish(events)
                if len(events) < BATCH:
                    return

    def _forget_stale(self) -> None:
        now = time.monotonic()
        for event_id, since in list(self._pending.items()):
            if now - since > PENDING_GIVE_UP_SECONDS:
                log.warning("event %s was notified but is still not readable", event_id)
                del self._pending[event_id]
