"""Transactions that join a request's idempotency scope, so its answer commits with its writes.

A request that carries an Idempotency-Key runs inside one outer transaction, the
scope: it takes the key, runs the use case, stores the answer the face rendered,
and commits once. The use case does not know: it opens `transaction()` as always,
and, in the task that opened the scope, that transaction is a savepoint of the
scope's. So a use case that fails rolls its own writes back and leaves the scope
usable (nothing is stored for a failure), and one that succeeds commits with the
stored answer or not at all.

Only the task that opened the scope joins it; tasks it starts (GraphQL loaders, the
operations of a batch) get transactions of their own, so a connection never serves
two operations at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from tandem.persistence.database import Database
from tandem.persistence.unit_of_work import UnitOfWork


@dataclass(slots=True)
class _OpenScope:
    uow: UnitOfWork
    task: asyncio.Task[object] | None
    busy: bool = False


_SCOPE: ContextVar[_OpenScope | None] = ContextVar("tandem_idempotency_scope", default=None)


class JoinedTransactions:
    """The database as the use cases see it: `transaction()` joins an open scope, if any."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def store(self) -> Database:
        return self.database

    def reader(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return self.database.reader()

    async def is_ready(self) -> bool:
        return await self.database.is_ready()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        scope = _SCOPE.get()
        if scope is None or scope.busy or scope.task is not asyncio.current_task():
            async with self.database.transaction() as uow:
                yield uow
            return
        scope.busy = True
        try:
            async with scope.uow.connection.raw.transaction():  # nested: a savepoint
                yield scope.uow
        finally:
            scope.busy = False

    @asynccontextmanager
    async def scope(self) -> AsyncIterator[UnitOfWork]:
        """The outer transaction; what this task's use cases write inside commits with it."""
        async with self.database.transaction() as uow:
            reset = _SCOPE.set(_OpenScope(uow, asyncio.current_task()))
            try:
                yield uow
            finally:
                _SCOPE.reset(reset)
