"""Idempotency keys, Stripe's way: one answer per key and principal, whatever the retries.

The face hands over an `IdempotentRequest` (who, which key, a digest of the request)
and runs the use case inside `scope()`; the scope, one transaction:
1. takes the key for itself (`pg_try_advisory_xact_lock`): a duplicate in flight is
   IDEMPOTENCY_KEY_IN_USE at once, never a second write;
2. finds a stored answer: sent with the same request, it is replayed and nothing is
   written, if the caller is still allowed all that the first caller was (its role,
   its token's scopes; FORBIDDEN otherwise: a replay is authorised like the
   original); sent with another request, IDEMPOTENCY_KEY_REUSED;
3. otherwise lets the face run the use case, whose own transaction joins the scope
   (tandem/persistence/idempotency/scopes.py), and stores the answer the face rendered,
   if it `keep`s one, in the same commit as the use case's writes, sealed
   (domain/idempotency/sealing.py: an answer may hold a secret shown once).
A failure the face does not keep leaves nothing behind, so the key may be retried.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tandem.domain.errors import Forbidden, IdempotencyKeyInUse, IdempotencyKeyReused
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.idempotency.records import IdempotentRequest, StoredAnswer
from tandem.domain.idempotency.sealing import AnswerSeal
from tandem.domain.store import Store

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
    def __init__(self, *, transactions: ScopedStore, seal: AnswerSeal) -> None:
        self._transactions = transactions
        self._seal = seal

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
                if not request.authority.covers(stored.authority):
                    raise Forbidden(
                        "This Idempotency-Key was answered for a caller allowed more than this"
                        " token is (its role or scopes); send the request with such a token,"
                        " or with a new key."
                    )
                body = self._seal.open(request, stored.answer.body)
                if body is None:
                    raise IdempotencyKeyReused(
                        "The answer stored for this Idempotency-Key can no longer be read "
                        "(the server's keys changed); use a new key."
                    )
                yield IdempotencyScope(replay=replace(stored.answer, body=body))
                return
            scope = IdempotencyScope(replay=None)
            yield scope
            if scope.answer is not None:
                sealed = replace(scope.answer, body=self._seal.seal(request, scope.answer.body))
                await uow.idempotency.store(request, sealed)

    async def purge(self, *, older_than: timedelta = KEEP_FOR) -> int:
        """Forget keys stored more than `older_than` ago; how many went."""
        return await purge_keys(self._transactions.store, older_than=older_than)


async def purge_keys(store: Store, *, older_than: timedelta = KEEP_FOR) -> int:
    """Forget keys stored more than `older_than` ago, in batches; how many went.

    `tandem worker` runs it with its other purges (tandem/worker/runner.py).
    """
    before = datetime.now(UTC) - older_than
    purged = 0
    while True:
        async with store.transaction() as uow:
            count = await uow.idempotency.purge(before=before, batch=PURGE_BATCH)
        purged += count
        if count < PURGE_BATCH:
            return purged
