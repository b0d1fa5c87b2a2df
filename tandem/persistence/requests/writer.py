"""The request log's writer: lines are buffered in memory and written once a second.

A request only appends a line to a list; one statement (INSERT … FROM unnest) writes
the whole batch outside every request. So the log costs a request no round trip and no
pool connection, at the price of losing up to a second of lines if the process dies,
which the contract allows ("failures always, successes as far as cost allows").
The buffer is bounded: past `capacity` lines, successes are dropped before failures,
and every dropped line is counted (tandem_request_log_dropped_total).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tandem.domain.requests.records import RequestEntry
from tandem.observability import metrics
from tandem.persistence.database import Database

log = logging.getLogger("tandem.request_log")


class RequestLogWriter:
    def __init__(self, *, interval: float = 1.0, capacity: int = 20_000) -> None:
        self._database: Database | None = None
        self._interval = interval
        self._capacity = capacity
        self._lines: list[RequestEntry] = []

    def record(self, entry: RequestEntry) -> None:
        """Keep one line for the next write; never waits, never raises."""
        if len(self._lines) >= self._capacity and entry.status < 400:
            metrics.REQUEST_LOG_DROPPED.inc()
            return
        self._lines.append(entry)
        if len(self._lines) > 2 * self._capacity:  # failures past twice the bound: oldest go
            del self._lines[0]
            metrics.REQUEST_LOG_DROPPED.inc()

    async def flush(self) -> int:
        """Write what is buffered now; on a database fault keep it for the next try."""
        batch, self._lines = self._lines, []
        if not batch or self._database is None:
            self._lines = batch
            return 0
        try:
            async with self._database.transaction() as uow:
                await uow.requests.append(batch)
        except Exception as error:  # the database is down or busy: try again next time
            self._lines = batch + self._lines
            log.warning("request log not written yet (%d lines kept): %s", len(batch), error)
            return 0
        return len(batch)

    @asynccontextmanager
    async def running(self, database: Database) -> AsyncIterator[None]:
        """Write to `database` once per interval while the block runs, and what is left after."""
        self._database = database
        task = asyncio.create_task(self._run(), name="tandem-request-log")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self.flush()
            self._database = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()
