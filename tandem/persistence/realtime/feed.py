"""The outbox, read once per process, in commit order, for this process's subscribers.

A dedicated connection LISTENs on `tandem_events`; a notification only wakes the
feed (its payload is not read), which then reads every event after its cursor, in
`Position` order and below the horizon (see tandem/persistence/events/repository.py),
and hands them to the `Fanout`. So each process reads an event once however many
subscribers it has, and nothing is skipped.

What the feed waits on is decided by what the read saw, never by which ids were
notified: a notification may arrive after the read that already returned its
event (it is then a wake-up with nothing new), and that must not make anything
wait. The one case that needs polling is an event that has committed but sits at
or above the horizon, behind an older transaction still running: no notification
comes when that transaction ends, so the feed reads again after 5 ms, doubling
up to a second, and any notification meanwhile wakes it at once. Such a hold is
logged once it has lasted `HELD_WARN_SECONDS`: the events behind it truly have
not reached any subscriber yet.

After the LISTEN connection is lost, the feed reconnects and reads on from its
cursor: subscribers receive what committed meanwhile, in order; one that would
fall more than its backlog behind is cut off as too slow (see Fanout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import BigInteger, Integer, bindparam, select, tuple_

from tandem.domain.events.records import EventRecord, Position
from tandem.domain.realtime.fanout import Fanout
from tandem.observability import metrics
from tandem.persistence.database import Database
from tandem.persistence.events.channels import EVENTS_CHANNEL
from tandem.persistence.events.listener import Listener
from tandem.persistence.events.models import Event
from tandem.persistence.events.repository import COLUMNS, horizon, record
from tandem.persistence.sql import compile_query

log = logging.getLogger("tandem.realtime")

_HORIZON = compile_query(select(horizon()))
# The events after the cursor, committed ones only (an uncommitted row is invisible),
# each with the horizon: those below it are final; the first at or above it is held.
_AFTER = compile_query(
    select(*COLUMNS, horizon())
    .where(
        tuple_(Event.txid, Event.id)
        > tuple_(
            bindparam("after_txid", type_=BigInteger), bindparam("after_seq", type_=BigInteger)
        )
    )
    .order_by(Event.txid, Event.id)
    .limit(bindparam("limit", type_=Integer))
)
BATCH = 500
APPLICATION_NAME = "tandem-subscriptions"  # the LISTEN connection, in pg_stat_activity
FIRST_RETRY_SECONDS = 0.005  # a held event: read again this soon, doubling...
LAST_RETRY_SECONDS = 1.0  # ...up to this
HELD_WARN_SECONDS = 120.0  # a hold this long is a long transaction somewhere: logged once


class OutboxFeed:
    def __init__(self, database: Database, fanout: Fanout, *, poll_seconds: float = 5.0) -> None:
        self._database = database
        self._fanout = fanout
        self._poll = poll_seconds  # with nothing held: a missed notification costs at most this
        self.cursor: Position | None = None
        self.held_since: float | None = None  # when the read first found a committed event held
        self.reads = 0  # statements against the outbox (tests and figures)
        self._wake = asyncio.Event()
        self.listener = Listener(
            database.url,
            [EVENTS_CHANNEL],
            self._notified,
            on_reconnect=self._wake.set,
            application_name=APPLICATION_NAME,
        )

    def _notified(self, channel: str, payload: str) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Listen and fan out until cancelled."""
        listening = asyncio.create_task(self.listener.run())
        try:
            await self.listener.connected.wait()
            while self.cursor is None:
                try:
                    self.cursor = Position(await self._horizon(), 0)
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
        retry = FIRST_RETRY_SECONDS
        warned = False
        while True:
            wait = self._poll if self.held_since is None else retry
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
            try:
                held = await self.read()
            except Exception as error:  # the database is away: the listener reconnects, we retry
                log.warning("cannot read the outbox (%s); retrying", error)
                await asyncio.sleep(1)
                self._wake.set()
                continue
            now = time.monotonic()
            if not held:
                self.held_since, retry, warned = None, FIRST_RETRY_SECONDS, False
                continue
            if self.held_since is None:
                self.held_since, retry = now, FIRST_RETRY_SECONDS
            else:
                retry = min(retry * 2, LAST_RETRY_SECONDS)
            if not warned and now - self.held_since >= HELD_WARN_SECONDS:
                warned = True
                log.warning(
                    "events committed after %s have waited %.0f s behind a transaction still "
                    "running; subscribers receive them when it ends",
                    self.cursor,
                    now - self.held_since,
                )

    async def read(self) -> bool:
        """Fan out every final event after the cursor; True if a committed one is still held."""
        assert self.cursor is not None
        async with self._database.reader() as uow:
            while True:
                self.reads += 1
                rows = await uow.connection.rows(
                    _AFTER,
                    after_txid=self.cursor.txid,
                    after_seq=self.cursor.seq,
                    limit=BATCH,
                )
                final: list[EventRecord] = []
                held = False
                for row in rows:
                    event = record(row[:-1])
                    if event.position.txid >= row[-1]:  # at or above the horizon: not final yet
                        held = True
                        break
                    final.append(event)
                if final:
                    self.cursor = final[-1].position
                    metrics.SUBSCRIPTION_FEED_READS.inc(len(final))
                    self._fanout.publish(final)
                if held or len(rows) < BATCH:
                    return held
