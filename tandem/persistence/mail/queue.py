"""The mail outbox as a leased queue (tandem/persistence/leased_queue.py), and its purge.

A mail sent or given up forgets its `params` (the reset token among them).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Text,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from tandem.domain.mail.records import ClaimedMail, MailKind, MailStatus
from tandem.persistence import leased_queue as leased
from tandem.persistence.leased_queue import LeasedQueue
from tandem.persistence.mail.models import OutboxMail
from tandem.persistence.sql import Query, compile_query

M = OutboxMail
_ID = bindparam("mail_id", type_=BigInteger)
PENDING = MailStatus.PENDING.value


def _claim() -> Query:
    picked = (
        select(M.id)
        .where(leased.due(M, PENDING))
        .order_by(M.next_attempt_at)
        .limit(leased.LIMIT)
        .with_for_update(skip_locked=True)
        .cte("picked")
    )
    expired = func.coalesce(M.send_before <= func.now(), False)
    return compile_query(
        update(M)
        .where(M.id == picked.c.id)
        .values(leased.lease(M))
        .returning(M.id, M.attempts, M.kind, M.recipient, M.params, expired, M.traceparent)
    )


_FORGOTTEN = cast(literal("{}"), JSONB)


@lru_cache(maxsize=3)
def _finish(status: MailStatus) -> Query:
    values: dict[str, Any] = {"last_error": bindparam("error", type_=Text)}
    if status is not MailStatus.PENDING:
        values["params"] = _FORGOTTEN
    return leased.finish(
        M, _ID, status=status.value, retry=status is MailStatus.PENDING, values=values
    )


_NEXT_DUE = compile_query(
    select(func.extract("epoch", func.min(leased.due_at(M)) - func.now())).where(
        M.status == PENDING
    )
)
_PURGE = compile_query(
    delete(M).where(
        M.id.in_(
            select(M.id)
            .where(
                M.status != PENDING,
                M.completed_at < bindparam("cutoff", type_=DateTime(timezone=True)),
            )
            .limit(bindparam("limit", type_=Integer))
        )
    )
)


class PgMailQueue(LeasedQueue[ClaimedMail]):
    """`MailQueue` over a worker's own pool."""

    claim_query = _claim()
    next_due_query = _NEXT_DUE

    def claimed(self, row: Any, token: uuid.UUID) -> ClaimedMail:
        mail_id, attempt, kind, recipient, params, expired, trace_context = row
        return ClaimedMail(
            mail_id=mail_id,
            lease_token=token,
            attempt=attempt,
            kind=MailKind(kind),
            to=recipient,
            params=orjson.loads(params) if isinstance(params, str | bytes) else dict(params),
            expired=bool(expired),
            trace_context=trace_context,
        )

    async def _finish(self, status: MailStatus, mail: ClaimedMail, **params: Any) -> bool:
        async with self._database.transaction() as uow:
            held = await uow.connection.row(
                _finish(status), mail_id=mail.mail_id, token=mail.lease_token, **params
            )
        return held is not None

    async def sent(self, mail: ClaimedMail) -> bool:
        return await self._finish(MailStatus.SENT, mail, error=None)

    async def retry(self, mail: ClaimedMail, *, error: str, retry_in: float) -> bool:
        return await self._finish(
            MailStatus.PENDING, mail, error=error, retry_in=timedelta(seconds=retry_in)
        )

    async def failed(self, mail: ClaimedMail, *, error: str) -> bool:
        return await self._finish(MailStatus.FAILED, mail, error=error)

    async def purge(self, *, older_than: datetime, limit: int) -> int:
        """Forget mail sent or given up before `older_than`; how many rows went."""
        async with self._database.transaction() as uow:
            status = await uow.connection.execute(_PURGE, cutoff=older_than, limit=limit)
        return int(status.split()[-1])
