"""Read replicas, with read-your-writes across processes (`DATABASE_REPLICA_URLS`).

`RoutedDatabase` is the `Database` the settings build when replicas are configured; the
plain `Database` is untouched, so a deployment without replicas pays nothing.

- **What may go to a replica**: a `reader()` of a request whose route allows it
  (tandem/domain/reads.py: a REST GET or a GraphQL query, the caller known, nothing
  written yet in the request). Writes, transactions, the guard's own statement, every
  read outside a request (the worker, the subscription feed, readiness) and sockets' reads
  stay on the primary.
- **Read-your-writes**: after a write commits in a request of a known caller, the
  primary's WAL insert position (past that commit) is kept in `read_positions` (an
  UNLOGGED table on the primary: no WAL, no flush) under the caller's user id. The
  guard's statement, which runs on the primary anyway (a revoked token stops at once),
  reads it in the same round trip. A replica serves the caller only once its
  `pg_last_wal_replay_lsn()`, as last measured, has reached that position, so a write
  made through any process is read back from any process.
- **Health**: each process measures every replica every `CHECK_SECONDS`: its replay
  position, and its lag in seconds (how long ago the primary was at a position the
  replica has not replayed yet). A replica that does not answer, is not in recovery,
  lags more than `max_lag`, or has not been measured for a while is skipped; with none
  left, reads go to the primary.
- **Failing mid-read**: a statement that fails on a replica (connection lost, a recovery
  conflict, a replica not yet at the schema) runs once more on a fresh primary
  connection, and the rest of the block stays there: the client never hears about it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from tandem.domain import reads
from tandem.domain.errors import Unavailable
from tandem.observability import metrics
from tandem.persistence.database import Database, asyncpg_dsn, lending
from tandem.persistence.faults import GAVE_UP, discard, is_connection_lost
from tandem.persistence.positions.statements import RECORD_OWNERS_POSITION, RECORD_POSITION
from tandem.persistence.sql import Connection, Observer, Query, Reconnect
from tandem.persistence.unit_of_work import UnitOfWork

_logger = logging.getLogger(__name__)

CHECK_SECONDS = 0.5  # how often each process measures each replica
PROBE_TIMEOUT_SECONDS = 1.0  # a replica that takes longer to answer its probe is down
CONNECT_TIMEOUT_SECONDS = 1.0  # a replica that cannot be reached this fast is skipped

PRIMARY_PROBE = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
# NULL on a server that is not in recovery: not a replica (promoted, or the primary itself).
REPLICA_PROBE = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"


class Samples:
    """The primary's WAL positions over the last moments, to turn a replay position into a lag.

    A replica that has replayed position P holds every commit that completed while the
    primary's insert position was at most P; so its lag is the age of the newest sample
    at or below P (0 when it has replayed the newest sample).
    """

    def __init__(self, *, keep: int) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=keep)

    def add(self, at: float, position: int) -> None:
        self._samples.append((at, position))

    def lag(self, replayed: int, now: float) -> float:
        if not self._samples:
            return math.inf
        if replayed >= self._samples[-1][1]:
            return 0.0
        for at, position in reversed(self._samples):
            if position <= replayed:
                return now - at
        return now - self._samples[0][0] + CHECK_SECONDS  # older than everything kept


class Probe:
    """One connection of its own to a server, for the measurements; reopened when it broke."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: asyncpg.Connection | None = None

    async def ask(self, sql: str) -> Any:
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(
                    asyncpg_dsn(self.url),
                    timeout=CONNECT_TIMEOUT_SECONDS,
                    server_settings={"application_name": "tandem-replica-probe"},
                )
            return await self._connection.fetchval(sql, timeout=PROBE_TIMEOUT_SECONDS)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            discard(connection)


class Replica:
    """One replica: its pool, and what the last measurement found."""

    def __init__(self, url: str, database: Database) -> None:
        self.url = url
        self.database = database
        self.name = _display_name(url)
        self.replayed: int | None = None
        self.lag = math.inf
        self.up = False
        self.measured_at = -math.inf
        self.probe = Probe(url)
        self._was_usable: bool | None = None  # the first measurement is said either way

    def usable(self, now: float, max_lag: float) -> bool:
        fresh = now - self.measured_at <= max(3 * CHECK_SECONDS, 1.5)
        return self.up and fresh and self.lag <= max_lag

    def failed(self) -> None:
        """A read found it unreachable: skip it until the next measurement says otherwise."""
        self.up = False
        metrics.DB_REPLICA_UP.labels(self.name).set(0)

    async def measure(self, samples: Samples, max_lag: float) -> None:
        try:
            replayed = await self.probe.ask(REPLICA_PROBE)
        except Exception as error:  # any failure to reach or read it: down, for now
            self.up, self.lag = False, math.inf
            why = f"down ({type(error).__name__})"
        else:
            now = time.monotonic()
            self.replayed = replayed
            self.lag = math.inf if replayed is None else samples.lag(replayed, now)
            self.up = replayed is not None
            self.measured_at = now
            why = "not in recovery" if replayed is None else f"{self.lag:.1f} s behind"
        usable = self.usable(time.monotonic(), max_lag)
        if usable != self._was_usable:  # one line per change of state, per process
            if usable:
                _logger.info("read replica %s is in use", self.name)
            else:
                _logger.warning("read replica %s is skipped: %s", self.name, why)
            self._was_usable = usable
        metrics.DB_REPLICA_UP.labels(self.name).set(1 if usable else 0)
        metrics.DB_REPLICA_LAG.labels(self.name).set(min(self.lag, 1e9))


class ReplicaConnection(Connection):
    """A replica's connection: a statement that fails there runs once more on the primary."""

    __slots__ = ("_fallback", "_replica")

    def __init__(
        self,
        raw: asyncpg.Connection,
        observers: Sequence[Observer],
        *,
        replica: Replica,
        fallback: Reconnect,
        search_timeout: float | None,
    ) -> None:
        super().__init__(raw, observers, search_timeout=search_timeout)
        self._replica = replica
        self._fallback = fallback

    async def _run(self, method: str, query: Query, params: Mapping[str, Any]) -> Any:
        try:
            return await super()._run(method, query, params)
        except Exception as error:
            if self.replacement is not None or not _replica_gave_way(error):
                raise
            lost = is_connection_lost(error)
            _logger.warning(
                "read replica %s failed a read (%s); reading from the primary",
                self._replica.name,
                type(error).__name__,
            )
        if lost:
            discard(self.raw)
            self._replica.failed()
        metrics.DB_ROUTED_READS.labels("primary", "fallback").inc()
        self.replacement = self.raw = await self._fallback()
        return await super()._run(method, query, params)


def _replica_gave_way(error: BaseException) -> bool:
    """Worth one more try on the primary: the replica is gone, in recovery conflict, behind a
    migration... A timeout is not (the primary would be no faster, and a search's own 503
    says why)."""
    if is_connection_lost(error):
        return True
    return isinstance(error, asyncpg.PostgresError) and not isinstance(error, GAVE_UP)


class RoutedDatabase(Database):
    """The primary's pool, plus replicas that serve the reads a request's route allows."""

    def __init__(
        self, url: str, *, replica_urls: Sequence[str], max_lag: float, **settings: Any
    ) -> None:
        super().__init__(url, **settings)
        replica_settings = {
            **settings,
            "acquire_timeout": min(self.acquire_timeout, CONNECT_TIMEOUT_SECONDS),
        }
        self.replicas = [Replica(u, Database(u, **replica_settings)) for u in replica_urls]
        self.max_lag = max_lag
        keep = math.ceil((max_lag + 2) / CHECK_SECONDS) + 4
        self._samples = Samples(keep=keep)
        self._turn = itertools.count()
        self._watching: asyncio.Task[None] | None = None
        self._primary_probe = Probe(url)
        reads.enabled = True  # every HTTP request now opens a route (tandem/http/middleware.py)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """Writes, on the primary; once committed, the caller's position is kept."""
        async with super().transaction() as uow:
            yield uow
        route = reads.current()
        if route is not None:
            route.wrote = True  # this request's later reads go to the primary
            if route.caller is not None:
                await self._keep_position(route.caller)

    async def _keep_position(self, user_id: int) -> None:
        """The primary's position now, past the commit, under the caller (another round trip,
        on a table that writes no WAL). Failing here must not fail a write that committed."""
        await self._keep(RECORD_POSITION, {"user_id": user_id})

    async def keep_receivers_positions(self, endpoint_ids: Sequence[int]) -> None:
        """Webhook deliveries about to go out: their receivers read what they are told of."""
        await self._keep(RECORD_OWNERS_POSITION, {"endpoint_ids": list(endpoint_ids)})

    async def _keep(self, statement: Query, params: dict[str, Any]) -> None:
        try:
            async with self._borrow() as raw:
                await raw.execute(statement.sql, *statement.args(params))
        except Exception as error:  # the primary went away just after the commit
            _logger.warning("could not keep a read position (%s)", type(error).__name__)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """No shared connection: a request's reads may go to a replica while the primary's
        connection, parked in a session, would wait idle. Each block borrows its own."""
        yield

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        route = reads.current()
        if route is not None and self._watching is None:
            self._watch()
        if route is None or not route.may_use_replica:
            async with super().reader() as uow:
                yield uow
            return
        replica = self._choose(route.position)
        if replica is None:
            async with super().reader() as uow:
                yield uow
            return
        try:
            raw = await replica.database.acquire()
        except Unavailable as error:
            if not error.cause.startswith("pool busy"):
                replica.failed()
            metrics.DB_ROUTED_READS.labels("primary", "fallback").inc()
            async with super().reader() as uow:
                yield uow
            return
        connection = ReplicaConnection(
            raw,
            self.observers,
            replica=replica,
            fallback=self._fresh_connection,
            search_timeout=self.search_timeout,
        )
        try:
            with lending(connection) as uow:
                yield uow
        except BaseException as error:
            if not isinstance(error, Exception):  # cancelled: maybe mid-statement (database.py)
                discard(raw)
            raise
        finally:
            await replica.database.release(raw)

    def _choose(self, position: int | None) -> Replica | None:
        """A usable replica that has replayed `position`, in turn; None: read the primary."""
        now = time.monotonic()
        usable = [r for r in self.replicas if r.usable(now, self.max_lag)]
        if not usable:
            metrics.DB_ROUTED_READS.labels("primary", "unhealthy").inc()
            return None
        if position is not None:
            usable = [r for r in usable if r.replayed is not None and r.replayed >= position]
            if not usable:
                metrics.DB_ROUTED_READS.labels("primary", "behind").inc()
                return None
        metrics.DB_ROUTED_READS.labels("replica", "").inc()
        return usable[next(self._turn) % len(usable)]

    def _watch(self) -> None:
        """Start measuring the replicas (on the first request: a worker never does)."""
        self._watching = asyncio.get_running_loop().create_task(self._measure_forever())

    async def _measure_forever(self) -> None:
        while True:
            try:
                await self.measure()
            except Exception:  # never let the watcher die; the next round tries again
                _logger.exception("measuring the read replicas failed")
            await asyncio.sleep(CHECK_SECONDS)

    async def measure(self) -> None:
        """One round: the primary's position, then every replica's replay and lag."""
        with contextlib.suppress(Exception):  # the primary away: lags grow from the last sample
            self._samples.add(time.monotonic(), int(await self._primary_probe.ask(PRIMARY_PROBE)))
        await asyncio.gather(*(r.measure(self._samples, self.max_lag) for r in self.replicas))

    async def dispose(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            await asyncio.gather(self._watching, return_exceptions=True)
            self._watching = None
        self._primary_probe.close()
        for replica in self.replicas:
            replica.probe.close()
            await replica.database.dispose()
        await super().dispose()


def _display_name(url: str) -> str:
    """host:port/database, never the credentials (a metric label, a log line)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "local"
    if not isinstance(host, str):
        host = host[0]
    return f"{host}:{parsed.port or 5432}/{parsed.database or ''}"
