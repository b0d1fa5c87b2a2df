"""The connection pool, and the two ways to borrow a connection from it.

`transaction()` is the unit of work for writes: it commits once, when the block
ends, so a failed commit raises before any response is sent. `reader()` runs
outside any transaction (asyncpg's autocommit), so a read costs its statements
and no BEGIN/ROLLBACK round trips. Each block borrows its own connection through
the fair gate and gives it back when it ends, so no connection is held while a
request waits on anything else.

`session()` is the one exception, for a request that waits on nothing but the
database once it is admitted (a REST read, tandem/http/routes.py; a GraphQL
request over HTTP, tandem/graphql/router.py): every block opened while it is open,
by its task or by the tasks that task starts (GraphQL's DataLoaders batch in tasks
of their own), runs on one connection, borrowed by the first block and given back
when the session ends. A block whose turn has not come waits for the block on the
connection to end (first come, first served) rather than borrow a second one, so a
request never holds one connection idle while waiting for another; only a block
opened inside the block that holds it, in the same task, borrows from the pool. A
block that fails gives the connection back, so the next one never meets a broken
one; a task that outlives the session borrows from the pool as usual. A session is
opened around work that waits on nothing but the database (never around a request
body or the sending of an answer), and a block on its connection never waits on
another task of the session.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from typing import TYPE_CHECKING

import asyncpg

from tandem.observability import tracing
from tandem.persistence.faults import (
    as_unavailable,
    busy_pool,
    discard,
    is_connection_lost,
    is_unavailable,
    unavailable,
)
from tandem.persistence.sql import Connection, Observer
from tandem.persistence.unit_of_work import UnitOfWork
from tandem.persistence.wakeups import Wakeups

if TYPE_CHECKING:
    from tandem.config import Settings


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes the same URL without SQLAlchemy's driver suffix."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Pool release without asyncpg's reset round trip: Tandem leaves no session state behind.

    No code here uses LISTEN, advisory locks, session SETs or temporary tables; the
    prepared statements a connection keeps are what makes the next request fast.
    """


class _Session:
    """One request's blocks on one connection (`Database.session`), one block at a time.

    `holder` is the task whose block has the turn (None: free); `waiting` the blocks of
    other tasks that asked while it was taken, each handed the turn in its order.
    """

    __slots__ = ("closed", "database", "holder", "raw", "waiting")

    def __init__(self, database: Database) -> None:
        self.database = database
        self.raw: asyncpg.Connection | None = None
        self.holder: asyncio.Task[object] | None = None
        self.waiting: deque[tuple[asyncio.Task[object], asyncio.Future[None]]] | None = None
        self.closed = False  # ended: blocks that come later borrow from the pool

    async def wait_turn(self, task: asyncio.Task[object]) -> bool:
        """Wait until the turn is handed to `task`; False when the session ended meanwhile
        (the turn given back at once: the block borrows from the pool)."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.waiting is None:
            self.waiting = deque()
        self.waiting.append((task, turn))
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():  # handed the turn, then cancelled
                await self.give_back()
            else:
                with suppress(ValueError):  # still waiting (a turn cancelled may be gone)
                    self.waiting.remove((task, turn))
            raise
        if self.closed:
            await self.give_back()
            return False
        return True

    async def give_back(self) -> None:
        """End the holder's turn: the next waiting block's now. Once the session has ended,
        the connection goes back to the pool first."""
        if self.closed:
            raw, self.raw = self.raw, None
            if raw is not None:
                self.holder = None  # never handed on while the connection goes back
                await self.database.release(raw)
        waiting = self.waiting
        while waiting:
            task, turn = waiting.popleft()
            if not turn.done():
                self.holder = task
                turn.set_result(None)
                return
        self.holder = None

    async def end(self) -> None:
        """No block borrows it any more; the connection goes back now, or when the block
        holding it (another task's) ends."""
        self.closed = True
        if self.holder is None:
            raw, self.raw = self.raw, None
            if raw is not None:
                await self.database.release(raw)


class _Opened:
    """`Database.session()`'s block: the session current in it, ended when it ends."""

    __slots__ = ("_reset", "_session")

    def __init__(self, database: Database) -> None:
        self._session = _Session(database)

    async def __aenter__(self) -> None:
        self._reset = _SESSION.set(self._session)

    async def __aexit__(self, *_exc: object) -> None:
        _SESSION.reset(self._reset)
        await self._session.end()


class _Lease:
    """One block's connection (`Database._borrow`): the session's, in its turn, or the pool's;
    it goes back when the block ends (the session's: when the session ends)."""

    __slots__ = ("database", "raw", "session")

    def __init__(self, database: Database) -> None:
        self.database = database
        self.session: _Session | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        database = self.database
        session = _SESSION.get()
        if session is not None and not session.closed and session.database is database:
            task = asyncio.current_task()
            holder = session.holder
            if holder is None:
                session.holder = task
                mine = True
            elif holder is task:
                mine = False  # a block inside this task's block on it: one of its own
            else:
                mine = await session.wait_turn(task)  # type: ignore[arg-type]
            if mine:
                raw = session.raw
                if raw is None:
                    try:
                        raw = session.raw = await database.acquire()
                    except BaseException:
                        await session.give_back()
                        raise
                self.session = session
                self.raw = raw
                return raw
        self.raw = raw = await database.acquire()
        return raw

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> None:
        raw = self.raw
        if isinstance(error, Exception) and is_connection_lost(error):
            discard(raw)  # dead: the pool replaces it instead of lending it again
        elif error is not None and not isinstance(error, Exception):
            # Cancelled (a socket closed, a time limit): asyncpg may have been stopped between
            # a statement's prepare and its execution, leaving the connection inside an
            # implicit transaction that holds the statement's locks; the pool's release resets
            # nothing, so the connection is closed rather than lent on with them.
            discard(raw)
        session = self.session
        if session is None:
            await self.database.release(raw)
            return
        try:
            if error is not None or _dead(raw):
                # Whatever failed, or a read replaced it after it died, the connection goes
                # back now; a next block borrows afresh.
                session.raw = None
                await self.database.release(raw)
        finally:
            await session.give_back()


class _Reading:
    """`Database.reader()`'s block: a unit of work on a lent connection; a database failure
    is UNAVAILABLE, and a fresh connection a retry opened is closed when it ends."""

    __slots__ = ("connection", "lease")

    def __init__(self, database: Database) -> None:
        self.lease = _Lease(database)

    async def __aenter__(self) -> UnitOfWork:
        lease = self.lease
        raw = await lease.__aenter__()
        database = lease.database
        self.connection = connection = Connection(
            raw,
            database.observers,
            retry=database._fresh_connection,
            search_timeout=database.search_timeout,
        )
        return UnitOfWork(connection)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: object
    ) -> None:
        replacement = self.connection.replacement
        if replacement is not None:
            discard(replacement)  # never raises, even on a dead socket
        await self.lease.__aexit__(kind, error, tb)
        if isinstance(error, Exception) and is_unavailable(error):
            raise unavailable(error) from error


_SESSION: ContextVar[_Session | None] = ContextVar("tandem_database_session", default=None)


class Database:
    """The pool, behind a fair gate; see the module's docstring for the rules it keeps."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        acquire_timeout: float = 5.0,
        statement_timeout: float = 10.0,
        lock_timeout: float = 3.0,
        idle_in_transaction_timeout: float = 30.0,
        statement_cache_size: int = 100,
        search_timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.pool_size = pool_size
        self.acquire_timeout = acquire_timeout
        self.search_timeout = search_timeout  # a search statement's own limit; 0: none
        self.observers: list[Observer] = []  # called with each statement's SQL (tests, metrics)
        self.wakeups = Wakeups(asyncpg_dsn(url))  # NOTIFYs after commits (persistence/wakeups.py)
        self._server_settings = {
            "application_name": "tandem",
            "statement_timeout": _milliseconds(statement_timeout),
            "lock_timeout": _milliseconds(lock_timeout),
            "idle_in_transaction_session_timeout": _milliseconds(idle_in_transaction_timeout),
        }
        # 0 for PgBouncer older than 1.21 in transaction mode (docs/deploy.md): named prepared
        # statements do not survive its switching server connections between transactions.
        self._statement_cache_size = statement_cache_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        # First come, first served: asyncio's Semaphore queues newcomers behind waiters, where
        # asyncpg's own queue lets a newcomer take a connection a woken waiter was promised.
        self._slots = asyncio.Semaphore(pool_size)

    @classmethod
    def from_settings(cls, settings: Settings, *, pool_size: int | None = None) -> Database:
        """The pool the settings describe (DATABASE_URL must be set); `pool_size` overrides.

        With DATABASE_REPLICA_URLS, a `RoutedDatabase` (tandem/persistence/replicas.py):
        the same pool, plus replicas for the reads a request's route allows.
        """
        assert settings.database_url is not None
        options = {
            "pool_size": pool_size or settings.db_pool_size,
            "acquire_timeout": settings.db_acquire_timeout_seconds,
            "statement_timeout": settings.db_statement_timeout_seconds,
            "lock_timeout": settings.db_lock_timeout_seconds,
            "idle_in_transaction_timeout": settings.db_idle_in_transaction_timeout_seconds,
            "statement_cache_size": settings.db_statement_cache_size,
            "search_timeout": settings.db_search_timeout_seconds,
        }
        if settings.database_replica_urls:
            from tandem.persistence.replicas import RoutedDatabase

            return RoutedDatabase(
                settings.database_url,
                replica_urls=settings.database_replica_urls,
                max_lag=settings.database_replica_max_lag_seconds,
                **options,
            )
        return cls(settings.database_url, **options)  # type: ignore[arg-type]

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    with as_unavailable():
                        self._pool = await asyncpg.create_pool(
                            asyncpg_dsn(self.url),
                            # No floor: asyncpg would keep reconnecting it in the background
                            # while the database is down, logging a traceback each time.
                            min_size=0,
                            max_size=self.pool_size,
                            reset=_keep_session,
                            # Connecting: a database that does not answer is unavailable.
                            timeout=self.acquire_timeout,
                            server_settings=self._server_settings,
                            statement_cache_size=self._statement_cache_size,
                        )
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """Writes: one transaction, committed when the block ends; never retried."""
        async with _Lease(self) as raw:
            connection = Connection(raw, self.observers, search_timeout=self.search_timeout)
            with as_unavailable():
                async with raw.transaction():
                    await tracing.stamp(raw)  # traced: the outbox rows keep the trace
                    yield UnitOfWork(connection)
        if connection.wakes:  # committed: listeners are woken outside any writer's transaction
            self.wakeups.send(connection.wakes)

    def reader(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Reads, outside any transaction; a statement whose connection died is run again."""
        return _Reading(self)

    async def _fresh_connection(self) -> asyncpg.Connection:
        """A new connection for a read to try once more, outside the pool (it is rare)."""
        with as_unavailable():
            connection: asyncpg.Connection = await asyncpg.connect(
                asyncpg_dsn(self.url),
                timeout=self.acquire_timeout,
                server_settings=self._server_settings,
                statement_cache_size=self._statement_cache_size,
            )
        return connection

    def session(self) -> AbstractAsyncContextManager[None]:
        """The blocks opened inside share one connection until the session ends (module
        docstring); tasks started inside that outlive it borrow from the pool."""
        return _Opened(self)

    def _borrow(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A connection from the pool, in turn; it goes back when the block ends."""
        return _Lease(self)

    async def acquire(self) -> asyncpg.Connection:
        """A pooled connection, first come first served, or UNAVAILABLE once the wait is over."""
        pool = self._pool or await self.pool()
        slots = self._slots
        if slots.locked():  # every connection lent, or others waiting: in line, for so long
            try:
                async with asyncio.timeout(self.acquire_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise busy_pool(self.acquire_timeout) from None
        else:
            await slots.acquire()  # a slot free and nobody waiting: taken without a wait
        try:
            raw: asyncpg.Connection = await pool.acquire()
        except BaseException as error:
            slots.release()
            if isinstance(error, Exception) and is_unavailable(error):
                raise unavailable(error) from error
            raise
        return raw

    async def release(self, raw: asyncpg.Connection) -> None:
        """Back to the pool. What asyncpg's `Pool.release` does, without its `shield`: that
        wraps the release in a task of its own (a third of a block's cost), to finish it if
        the caller is cancelled; here it has nothing to wait for unless a transaction was
        left open or a statement is being cancelled, and when a cancellation stops it there,
        asyncpg's release closes the connection, which the pool then replaces."""
        try:
            holder = getattr(raw, "_holder", None)
            connection = getattr(raw, "_con", None)
            if holder is None or self._pool is None or holder._pool is not self._pool:
                if self._pool is not None:
                    await self._pool.release(raw)
                return
            if connection is None:  # released already
                return
            connection._on_release()
            await holder.release(None)
        finally:
            self._slots.release()

    async def is_ready(self) -> bool:
        """Reachable, and migrated to this code's head revision or beyond it (`serves_revision`)."""
        from tandem.persistence.migrate import serves_revision

        try:
            async with self.reader() as uow:
                current = await uow.connection.raw.fetchval(
                    "SELECT version_num FROM alembic_version"
                )
        except Exception:  # any failure to reach or read the database means "not ready"
            return False
        return serves_revision(current)

    async def dispose(self) -> None:
        await self.wakeups.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _dead(raw: asyncpg.Connection) -> bool:
    """Closed, or already taken back by the pool when it noticed the connection die."""
    try:
        return bool(raw.is_closed())
    except asyncpg.InterfaceError:  # "released back to the pool"
        return True


@contextmanager
def lending(connection: Connection) -> Iterator[UnitOfWork]:
    """A read's unit of work over `connection`: a database failure is UNAVAILABLE, and the
    fresh connection a retry opened (`connection.replacement`) is closed when it ends."""
    try:
        with as_unavailable():
            yield UnitOfWork(connection)
    finally:
        if connection.replacement is not None:
            discard(connection.replacement)  # never raises, even on a dead socket


def _milliseconds(seconds: float) -> str:
    """A PostgreSQL duration setting; 0 turns the timeout off."""
    return str(int(seconds * 1000))
