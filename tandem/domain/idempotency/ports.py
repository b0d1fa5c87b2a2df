"""What idempotency needs from storage: the keys, and a scope the use cases' writes join."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tandem.domain.idempotency.records import IdempotentRequest, StoredAnswer, StoredKey

if TYPE_CHECKING:
    from tandem.domain.store import Store, UnitOfWork


class IdempotencyRepository(Protocol):
    async def try_lock(self, request: IdempotentRequest) -> bool:
        """Take the key until the transaction ends; False when another transaction holds it."""
        ...

    async def find(self, request: IdempotentRequest) -> StoredKey | None: ...

    async def store(self, request: IdempotentRequest, answer: StoredAnswer) -> None: ...

    async def purge(self, *, before: datetime, batch: int) -> int: ...


class ScopedStore(Protocol):
    """A store whose `transaction()`, inside an open `scope()` in the same task, joins it."""

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    def reader(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    async def is_ready(self) -> bool: ...

    def scope(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """The outer transaction of one request that carries an Idempotency-Key."""
        ...

    @property
    def store(self) -> Store:
        """The plain store underneath, for work that must never join a scope (purges)."""
        ...
