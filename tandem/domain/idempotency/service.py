"""Idempotency keys, Stripe's way: one answer per key and principal, whatever the retries.

The face hands over an `IdempotentRequest` (who, which key, a digest of the request)
and runs the use case inside `scope()`; the scope, one transaction:
1. takes the key for itself (`pg_try_advisory_xact_lock`): a duplicate in flight is
   IDEMPOTENCY_KEY_IN_USE at once, never a second write;
2. finds a stored answer: sent with the same request, it is replayed and nothing is
   written; with another, IDEMPOTENCY_KEY_REUSED;
3. otherwise lets the face run the use case, whose own transaction joins the scope
   (tandem/persistence/idempotency/scopes.py), and stores the answer the face rendered,
   if it `keep`s one, in the same commit as the use case's writes.
A failure the face does not keep leaves nothing behind, so the key may be retried.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tandem.domain.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.idempotency.records import IdempotentRequest, StoredAnswer

KEY_MAX_LENGTH = 255
KEEP_FOR = timedelta(hours=24)  # the contract's "at least 24 hours"
PURGE_BATCH = 1000


@dataclass(slots=True)
class IdempotencyScope:
    """`replay` is the stored answer to send back; else run the request and `keep` its answer."""

    replay: StoredAnswer | None
    answer: StoredAnswer | None = None

    def keep(self, answer: StoredAnswer) -> None:
        self.answer = answer


class IdempotencyService:
    def __init__(self, *, transactions: ScopedStore) -> None:
        self._transactions = transactions

    @asynccontextmanager
    async def scope(self, request: IdempotentRequest) -> AsyncIterator[IdempotencyScope]:
        """See the module's docstring; raises IN_USE or REUSED before yielding."""
        async with self._transactions.scope() as uow:
            if not await uow.idempotency.try_lock(request):
                raise IdempotencyKeyInUse(
                    "A request with this Idempotency-Key is still being processed; "
                    "retry when it has finished."
                )
            stored = await uow.idempotency.find(request)
            if stored is not None:
                if not hmac.compare_digest(stored.fingerprint, request.fingerprint):
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used with a different request; "
                        "use a new key for a new request."
                    )
                yield IdempotencyScope(replay=stored.answer)
                return
            scope = IdempotencyScope(replay=None)
            yield scope
            if scope.answer is not None:
                await uow.idempotency.store(request, scope.answer)

    async def purge(self, *, older_than: timedelta = KEEP_FOR) -> int:
        """Forget keys stored more than `older_than` ago (for `tandem worker`); how many went."""
        before = datetime.now(UTC) - older_than
        purged = 0
        while True:
            async with self._transactions.store.transaction() as uow:
                count = await uow.idempotency.purge(before=before, batch=PURGE_BATCH)
            purged += count
            if count < PURGE_BATCH:
                return purged
