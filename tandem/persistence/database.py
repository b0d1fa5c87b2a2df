"""The connection pool, and the two ways to borrow a connection from it.

`transaction()` is the unit of work for writes: it commits once, when the block
ends, so a failed commit raises before any response is sent. `reader()` runs
outside any transaction (asyncpg's autocommit), so a read costs its statements
and no BEGIN/ROLLBACK round trips.

Within a `Lease` (one per HTTP request), those blocks share one connection,
borrowed on first use and returned when the request ends, instead of one pool
round trip each: the guard's lookup and the use case's statements run on the
same connection. A block that opens while another holds the lease's
connection (nested, or concurrent like GraphQL's loaders) borrows from the
pool as before, so no two operations ever share a connection at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token

import asyncpg

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


class Lease:
    """One connection for a whole request, borrowed on first use; see the module's docstring."""

    __slots__ = ("_pool", "_raw", "_reset", "busy")

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._raw: asyncpg.Connection | None = None
        self._reset: Token[Lease | None] | None = None
        self.busy = False

    @classmethod
    def open(cls) -> Lease:
        """Start a lease for the code that runs from here in this context (and tasks it starts)."""
        lease = cls()
        lease._reset = _LEASE.set(lease)
        return lease

    async def take(self, pool: asyncpg.Pool) -> asyncpg.Connection | None:
        """The lease's connection, now busy, if free and from `pool`; else None (use the pool).

        It is marked busy before the first acquire is awaited, so two blocks that start
        together can never both take it (nor both acquire one for it).
        """
        if self.busy or (self._pool is not None and self._pool is not pool):
            return None
        self.busy = True
        if self._raw is None:
            try:
                self._raw = await pool.acquire()
            except BaseException:
                self.busy = False
                raise
            self._pool = pool
        return self._raw

    def give_back(self) -> None:
        self.busy = False

    async def close(self) -> None:
        """End the lease and give its connection back to the pool."""
        if self._reset is not None:
            _LEASE.reset(self._reset)
            self._reset = None
        raw, self._raw = self._raw, None
        if raw is not None and self._pool is not None:
            await self._pool.release(raw)


_LEASE: ContextVar[Lease | None] = ContextVar("tandem_lease", default=None)


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
        lease = _LEASE.get()
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
