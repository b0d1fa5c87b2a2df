"""The connection pool, and the two ways to borrow a connection from it.

`transaction()` is the unit of work for writes: it commits once, when the block
ends, so a failed commit raises before any response is sent. `reader()` runs
outside any transaction (asyncpg's autocommit), so a read costs its statements
and no BEGIN/ROLLBACK round trips.

Within a `Lease` (one per HTTP request), consecutive blocks share one
connection instead of paying the pool's acquire and release each: the guard's
lookup and the use case's statements run on the same connection. A block that
opens while another holds it (nested, or from another task, like GraphQL's
loaders) borrows from the pool as before, so no two operations ever share a
connection at once; and a connection is never held while the request waits on
anything between blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from typing import Any

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
    """A request's connection, handed from one block to the next; see the module's docstring.

    Three rules keep it safe:
    - only the task that opened the lease uses it (tasks it starts, such as
      DataLoader batches or the operations of a GraphQL batch, borrow from the
      pool, and may outlive the request without holding its connection);
    - between blocks the connection is parked only until the task waits on
      anything (a request body, a password hash, another service): then it goes
      back to the pool, so a slow client or a slow step never holds one idle;
    - a closed lease lends nothing.
    """

    __slots__ = ("_closed", "_pool", "_raw", "_reset", "_task", "busy")

    def __init__(self) -> None:
        self._task = asyncio.current_task()
        self._pool: asyncpg.Pool | None = None
        self._raw: asyncpg.Connection | None = None
        self._reset: Token[Lease | None] | None = None
        self._closed = False
        self.busy = False

    @classmethod
    def open(cls) -> Lease:
        """Start a lease for the code that runs from here in this task."""
        lease = cls()
        lease._reset = _LEASE.set(lease)
        return lease

    async def take(self, pool: asyncpg.Pool) -> asyncpg.Connection | None:
        """The parked or a new connection, now busy; None means "borrow from the pool".

        It is marked busy before an acquire is awaited, so two blocks can never both
        take it, nor both acquire a connection for it.
        """
        if self._closed or self.busy or asyncio.current_task() is not self._task:
            return None
        if self._raw is not None and self._pool is not pool:
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
        """Park the connection for the next block, unless the task waits first."""
        self.busy = False
        asyncio.get_running_loop().call_soon(self._unpark)

    def _unpark(self) -> None:
        """Runs once the task has yielded to the event loop: an idle connection goes back."""
        if self.busy or self._raw is None or self._pool is None:
            return
        raw, self._raw = self._raw, None
        _releasing(self._pool.release(raw))

    async def close(self) -> None:
        """End the lease: it lends nothing more, and its connection goes back to the pool."""
        self._closed = True
        if self._reset is not None:
            _LEASE.reset(self._reset)
            self._reset = None
        if self.busy:  # a block still holds it: its give_back hands it to `_unpark`
            return
        raw, self._raw = self._raw, None
        if raw is not None and self._pool is not None:
            await self._pool.release(raw)


_background: set[asyncio.Task[None]] = set()


def _releasing(release: Coroutine[Any, Any, None]) -> None:
    """Run a pool release from a callback, holding the task until it is done."""
    task = asyncio.ensure_future(release)
    _background.add(task)
    task.add_done_callback(_background.discard)


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
