"""How busy a Database's connection pool is, for the metrics (read-only, never opens it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from tandem.observability import metrics
from tandem.persistence.database import Database


@dataclass(frozen=True, slots=True)
class PoolStats:
    open: int  # connections held open, busy or idle
    in_use: int  # lent out now (a request's lease counts while it holds one)
    max_size: int


def pool_stats(database: Database) -> PoolStats | None:
    """The pool's figures, or None while no pool has been opened yet."""
    pool = database._pool  # the pool is Database's own; only its counts are read here
    if pool is None:
        return None
    size = pool.get_size()
    return PoolStats(open=size, in_use=size - pool.get_idle_size(), max_size=pool.get_max_size())


def record_pool(database: object) -> None:
    """Copy the pool's figures into this process's gauges (a store that is no Database: none)."""
    stats = pool_stats(database) if isinstance(database, Database) else None
    if stats is None:
        return
    metrics.DB_POOL_CONNECTIONS.set(stats.open)
    metrics.DB_POOL_CONNECTIONS_IN_USE.set(stats.in_use)
    metrics.DB_POOL_MAX_CONNECTIONS.set(stats.max_size)


@asynccontextmanager
async def sampling_pool(database: Database, *, every_seconds: float = 1.0) -> AsyncIterator[None]:
    """Keep the gauges current while the block runs.

    A scrape is answered by one process but reports them all, so each process writes
    its own figures on a clock instead of when asked.
    """

    async def sample() -> None:
        while True:
            record_pool(database)
            await asyncio.sleep(every_seconds)

    task = asyncio.create_task(sample())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
