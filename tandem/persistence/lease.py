"""A request's connection, handed from one database block to the next.

Within a lease (one per HTTP request, opened by `LeasePerRequest` around the app),
consecutive blocks share one connection instead of paying the pool's acquire and
release each: the guard's lookup and the use case's statements run on the same
connection. A block that opens while another holds it (nested, or from another
task, like GraphQL's loaders) borrows from the pool, so no two operations ever
share a connection at once; and a connection is never held while the request
waits on anything between blocks.

The faces never see it: the composition root wraps the application.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import ContextVar, Token
from typing import Any, Protocol

import asyncpg
from starlette.types import ASGIApp, Receive, Scope, Send


class Lender(Protocol):
    """Where a lease's connection comes from and goes back to (the Database's fair gate)."""

    async def acquire(self) -> asyncpg.Connection: ...

    async def release(self, raw: asyncpg.Connection) -> None: ...


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

    __slots__ = ("_closed", "_lender", "_raw", "_reset", "_task", "busy")

    def __init__(self) -> None:
        self._task = asyncio.current_task()
        self._lender: Lender | None = None
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

    async def take(self, lender: Lender) -> asyncpg.Connection | None:
        """The parked or a new connection, now busy; None means "borrow from the pool".

        It is marked busy before an acquire is awaited, so two blocks can never both
        take it, nor both acquire a connection for it.
        """
        if self._closed or self.busy or asyncio.current_task() is not self._task:
            return None
        if self._raw is not None and self._lender is not lender:
            return None
        self.busy = True
        if self._raw is not None and _dead(self._raw) and self._lender is not None:
            # The server closed it while parked: never hand a dead connection out.
            dead, self._raw = self._raw, None
            await self._lender.release(dead)
        if self._raw is None:
            try:
                self._raw = await lender.acquire()
            except BaseException:
                self.busy = False
                raise
            self._lender = lender
        return self._raw

    def give_back(self) -> None:
        """Park the connection for the next block, unless the task waits first."""
        self.busy = False
        asyncio.get_running_loop().call_soon(self._unpark)

    def _unpark(self) -> None:
        """Runs once the task has yielded to the event loop: an idle connection goes back."""
        if self.busy or self._raw is None or self._lender is None:
            return
        raw, self._raw = self._raw, None
        _releasing(self._lender.release(raw))

    async def close(self) -> None:
        """End the lease: it lends nothing more, and its connection goes back to the pool."""
        self._closed = True
        if self._reset is not None:
            _LEASE.reset(self._reset)
            self._reset = None
        if self.busy:  # a block still holds it: its give_back hands it to `_unpark`
            return
        raw, self._raw = self._raw, None
        if raw is not None and self._lender is not None:
            await self._lender.release(raw)


_background: set[asyncio.Task[None]] = set()


def _releasing(release: Coroutine[Any, Any, None]) -> None:
    """Run a pool release from a callback, holding the task until it is done."""
    task = asyncio.ensure_future(release)
    _background.add(task)
    task.add_done_callback(_background.discard)


_LEASE: ContextVar[Lease | None] = ContextVar("tandem_lease", default=None)


def _dead(raw: asyncpg.Connection) -> bool:
    """Closed by the server, or already taken back by the pool when it noticed."""
    try:
        return bool(raw.is_closed())
    except asyncpg.InterfaceError:  # "released back to the pool"
        return True


def current_lease() -> Lease | None:
    return _LEASE.get()


class LeasePerRequest:
    """ASGI: open a lease for the request's task; close it (the connection goes back) at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lease = Lease.open()
        try:
            await self.app(scope, receive, send)
        finally:
            await lease.close()
