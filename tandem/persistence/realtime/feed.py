"""The outbox, read once per process, in commit order, for this process's subscribers.

A dedicated connection LISTENs on `tandem_events`; a notification only wakes the
feed (its payload is empty: the process that committed sends one wake-up, outside its
transaction, for all it committed in the last 5 ms; tandem/persistence/wakeups.py),
which then reads every event after its cursor, in
`Position` order and below the horizon (see tandem/persistence/events/repository.py),
and hands them to the `Fanout`. So each process reads an event once however many
subscribers it has, and nothing is skipped. The owners a batch shows are loaded with
it, in one more statement (`changes.prepare`): none is loaded per event.

What the feed waits on is decided by what the read saw, never by which ids were
notified: a notification may arrive after the read that already returned its
event (it is then a wake-up with nothing new), and that must not make anything
wait. The one case that needs polling is an event that has committed but sits at
or above the horizon, behind an older transaction still running: no notification
comes when that transaction ends, so the feed reads again after 5 ms, doubling
up to a second, and any notification meanwhile wakes it at once. Such a hold is
logged once it has lasted `HELD_WARN_SECONDS`: the events behind it truly have
not reached any subscriber yet. Otherwise the feed polls too, in case a wake-up was
lost: `FLOW_POLL_SECONDS` after a read that found events (while events flow), and
`poll_seconds` (5 s) after one that found none.

On SIGTERM, before open sockets close with 1001, `drain` fans out every event that
committed before that moment and waits (a few seconds at most) until each subscription
has sent what it holds: a client that resumes with its last cursor then misses nothing
and is sent nothing twice.

The same channel carries `access:user:<id>` and `access:token:<jti>`, sent on
commit by triggers when an account's role or state changes, a login's tokens are
revoked or an access token is (migration 0015): the subscriptions they name check
their token at once, on every process, rather than at their next periodic recheck.

After the LISTEN connection is lost, the feed reconnects and reads on from its
cursor: subscribers receive what committed meanwhile, in order; one that would
fall more than its backlog behind is cut off as too slow (see Fanout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import BigInteger, Integer, Text, bindparam, cast, func, select, tuple_

from tandem.domain.events.records import EventRecord, Position
from tandem.domain.realtime.changes import owner_ids, prepare
from tandem.domain.realtime.fanout import Fanout
from tandem.observability import metrics
from tandem.persistence.database import Database
from tandem.persistence.events.channels import ACCESS_CHANGED, EVENTS_CHANNEL
from tandem.persistence.events.listener import Listener
from tandem.persistence.events.models import Event
from tandem.persistence.events.repository import COLUMNS, horizon, record
from tandem.persistence.sql import compile_query

log = logging.getLogger("tandem.realtime")

_HORIZON = compile_query(select(horizon()))
# Every transaction that committed before this moment is below it.
_NOW = compile_query(
    select(cast(cast(func.pg_snapshot_xmax(func.pg_current_snapshot()), Text), BigInteger))
)
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
FLOW_POLL_SECONDS = 0.1  # after a read that found events: a lost wake-up costs at most this
CLOSING_DRAIN_SECONDS = 5.0  # on SIGTERM, what committed before is sent within this, or dropped


class OutboxFeed:
    def __init__(self, database: Database, fanout: Fanout, *, poll_seconds: float = 5.0) -> None:
        self._database = database
        self._fanout = fanout
        self._poll = poll_seconds  # with nothing held: a missed notification costs at most this
        self.cursor: Position | None = None
        self.held_since: float | None = None  # when the read first found a committed event held
        self.reads = 0  # statements against the outbox (tests and figures)
        self.fanned = 0  # events fanned out so far
        self._wake = asyncio.Event()
        self._reading = asyncio.Lock()  # one read at a time: the loop's, or the closing drain's
        self.listener = Listener(
            database.url,
            [EVENTS_CHANNEL],
            self._notified,
            on_reconnect=self._wake.set,
            application_name=APPLICATION_NAME,
        )

    def _notified(self, channel: str, payload: str) -> None:
        if payload.startswith(ACCESS_CHANGED):  # a token, an account or a role changed
            kind, _, key = payload[len(ACCESS_CHANGED) :].partition(":")
            if kind == "user" and key.isdigit():
                self._fanout.recheck(user_id=int(key))
            elif kind == "token":
                self._fanout.recheck(token_id=key)
            return
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
        idle = self._poll
        while True:
            wait = idle if self.held_since is None else retry
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
            fanned = self.fanned
            try:
                held = await self.read() is not None
            except Exception as error:  # the database is away: the listener reconnects, we retry
                log.warning("cannot read the outbox (%s); retrying", error)
                await asyncio.sleep(1)
                self._wake.set()
                continue
            idle = FLOW_POLL_SECONDS if self.fanned > fanned else self._poll
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

    async def drain(self, *, within: float = CLOSING_DRAIN_SECONDS) -> None:
        """Fan out what committed before now, and wait until subscribers have sent it."""
        try:
            async with asyncio.timeout(within):
                if self.cursor is not None:
                    async with self._database.reader() as uow:
                        now = int(await uow.connection.value(_NOW))
                    retry = FIRST_RETRY_SECONDS
                    while (held := await self.read()) is not None and held < now:
                        await asyncio.sleep(retry)  # behind a transaction still running
                        retry = min(retry * 2, LAST_RETRY_SECONDS)
                await self._fanout.flushed()
        except TimeoutError:
            log.warning("closing before every subscriber was sent what committed (%.0f s)", within)
        except Exception as error:  # the database is away: close with what was sent
            log.warning("cannot read the outbox before closing (%s)", error)

    async def read(self) -> int | None:
        """Fan out every final event after the cursor; the txid of a committed one still held."""
        async with self._reading:
            return await self._read()

    async def _read(self) -> int | None:
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
                held = None
                for row in rows:
                    event = record(row[:-1])
                    if event.position.txid >= row[-1]:  # at or above the horizon: not final yet
                        held = event.position.txid
                        break
                    final.append(event)
                if final:
                    ids = owner_ids(final) if len(self._fanout) else []
                    if ids:  # every owner of the batch, in one statement
                        owners = await uow.users.get_many(ids)
                        prepare(final, {owner.id: owner for owner in owners})
                    self.cursor = final[-1].position
                    self.fanned += len(final)
                    metrics.SUBSCRIPTION_FEED_READS.inc(len(final))
                    self._fanout.publish(final)
                if held is not None or len(rows) < BATCH:
                    return held
