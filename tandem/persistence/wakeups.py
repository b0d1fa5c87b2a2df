"""Wake-ups sent after a commit, outside every writer's transaction, coalesced per process.

PostgreSQL holds one cluster-wide lock from a notifying transaction's pre-commit to
its end, WAL flush included, so writes that NOTIFY in their own transaction cannot
share a flush: they queue behind one another (docs/performance.md, "The NOTIFY
ceiling"). So item writes and queued mail do not notify. A statement that wrote
something a listener must hear about says so on its connection (`Connection.wake`);
once the transaction has committed, the `Database` hands those wake-ups to this
process's `Wakeups`, which sends them on a connection of its own:

- at once if none went out in the last `INTERVAL` (5 ms), else when it ends: at
  most one round per interval, however many commits asked (each (channel, payload)
  once per round, all in one statement);
- with `synchronous_commit` off: a wake-up's commit waits for no flush, and holds
  the lock for microseconds;
- to PostgreSQL, so every LISTENer of every process hears it, this one's included.

The payloads carry no data (`tandem_events` an empty one; `tandem_jobs` the loop
to wake): a listener reads what is new from its cursor or its queue. A wake-up that
is lost (the connection dropped, the database restarted) costs at most the
listener's poll: the fan-out reads again within 5 s at worst (sooner while events
flow), a worker within `WORKER_POLL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

import asyncpg

log = logging.getLogger("tandem.wakeups")

INTERVAL = 0.005  # at most one round of wake-ups per process in this long
APPLICATION_NAME = "tandem-wakeups"  # how pg_stat_activity names the connection

Wake = tuple[str, str]  # (channel, payload)


class Wakeups:
    def __init__(self, dsn: str, *, interval: float = INTERVAL, connect_timeout: float = 5.0):
        self._dsn = dsn
        self._interval = interval
        self._connect_timeout = connect_timeout
        self._pending: set[Wake] = set()
        self._sending: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the connection's
        self._last = 0.0  # when the last round went out (monotonic)
        self.rounds = 0  # statements sent (tests and figures)

    def send(self, wakes: Iterable[Wake]) -> None:
        """Have these wake-ups go out soon (never waits; coalesced with others)."""
        self._pending.update(wakes)
        if self._pending and (self._sending is None or self._sending.done()):
            self._sending = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._pending:
            delay = self._last + self._interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            wakes, self._pending = sorted(self._pending), set()
            self._last = time.monotonic()
            try:
                connection = await self._connected()
                await connection.execute(_statement(len(wakes)), *(v for w in wakes for v in w))
                self.rounds += 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                # The listeners' polls cover a lost wake-up; the next round reconnects.
                log.warning("a wake-up was not sent (%s); listeners poll for it", error)
                await self._drop()

    async def _connected(self) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        if self._connection is not None and self._loop is not loop:
            await self._drop()  # made in another event loop (tests run several)
        if self._connection is None or self._connection.is_closed():
            self._loop = loop
            self._connection = await asyncpg.connect(
                self._dsn,
                timeout=self._connect_timeout,
                statement_cache_size=0,
                server_settings={
                    "application_name": APPLICATION_NAME,
                    "synchronous_commit": "off",  # no flush to wait for: it carries no data
                },
            )
        return self._connection

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.terminate()

    async def close(self) -> None:
        """Send what is pending, then close the connection."""
        if self._sending is not None and not self._sending.done() and self._same_loop():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._sending), 1.0)
            self._sending.cancel()
        self._sending = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                if self._same_loop():
                    await asyncio.wait_for(connection.close(), 1.0)
                else:
                    connection.terminate()

    def _same_loop(self) -> bool:
        return self._loop is None or self._loop is asyncio.get_running_loop()


def _statement(count: int) -> str:
    return "SELECT " + ", ".join(f"pg_notify(${2 * n + 1}, ${2 * n + 2})" for n in range(count))
