"""The connection pool, and the two ways to borrow a connection from it.

`transaction()` is the unit of work for writes: it commits once, when the block
ends, so a failed commit raises before any response is sent. `reader()` runs
outside any transaction (asyncpg's autocommit), so a read costs its statements
and no BEGIN/ROLLBACK round trips. Within a lease (`tandem.persistence.lease`),
consecutive blocks of one request share a connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tandem.persistence.lease import current_lease
from tandem.persistence.sql import Connection, Observer
from tandem.persistence.unit_of_work import UnitOfWork


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes the same URL without SQLAlchemy's driver suffix."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Pool release without asyncpg's reset round trip: Tandem leaves no session state behind.

    No code here uses LISTEN, advisory locks, session SETs or temporary tables; the
    prepared statements a connection keeps are what makes the next request fast.
    """


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.observers: list[Observer] = []  # called with each statement's SQL (tests, metrics)
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        asyncpg_dsn(self.url),
                        min_size=1,
                        max_size=self.pool_size * 2,
                        reset=_keep_session,
                        timeout=10,  # connecting; a database that does not answer is not ready
                        server_settings={"application_name": "tandem"},
                    )
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        async with self._borrow() as raw, raw.transaction():
            yield UnitOfWork(Connection(raw, self.observers))

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        async with self._borrow() as raw:
            yield UnitOfWork(Connection(raw, self.observers))

    @asynccontextmanager
    async def _borrow(self) -> AsyncIterator[asyncpg.Connection]:
        """The request's leased connection when free, else one from the pool."""
        pool = self._pool or await self.pool()
        lease = current_lease()
        raw = None if lease is None else await lease.take(pool)
        if lease is None or raw is None:
            async with pool.acquire() as pooled:
                yield pooled
            return
        try:
            yield raw
        finally:
            lease.give_back()

    async def is_ready(self) -> bool:
        """Reachable and migrated to the newest revision this code knows."""
        from tandem.persistence.migrate import head_revision

        try:
            async with self.reader() as uow:
                current = await uow.connection.raw.fetchval(
                    "SELECT version_num FROM alembic_version"
                )
        except Exception:  # any failure to reach or read the database means "not ready"
            return False
        return bool(current == head_revision())

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
