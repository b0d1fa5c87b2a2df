"""The mail queue the workers share: claim with a lease, finish holding the lease's token.

The same shape as the webhook queue (tandem/persistence/webhooks/queue.py): a claim is
one statement that picks due rows with `FOR UPDATE SKIP LOCKED` and leases them before
it commits; the SMTP conversation runs outside any transaction; finishing checks the
token, so a worker that outlived its lease cannot overwrite the new holder's outcome.
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
    Interval,
    Text,
    Uuid,
    and_,
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
from tandem.persistence.database import Database
from tandem.persistence.mail.models import OutboxMail
from tandem.persistence.sql import Query, compile_query

M = OutboxMail
_ID = bindparam("mail_id", type_=BigInteger)
_TOKEN = bindparam("token", type_=Uuid)
PENDING = MailStatus.PENDING.value


def _claim() -> Query:
    due = and_(
        M.status == PENDING,
        M.next_attempt_at <= func.now(),
        M.leased_until.is_(None) | (M.leased_until <= func.now()),
    )
    picked = (
        select(M.id)
        .where(due)
        .order_by(M.next_attempt_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte("picked")
    )
    expired = func.coalesce(M.send_before <= func.now(), False)
    return compile_query(
        update(M)
        .where(M.id == picked.c.id)
        .values(
            leased_until=func.now() + bindparam("lease", type_=Interval),
            lease_token=_TOKEN,
            attempts=M.attempts + 1,
        )
        .returning(M.id, M.attempts, M.kind, M.recipient, M.params, expired)
    )


_CLAIM = _claim()
_FORGOTTEN = cast(literal("{}"), JSONB)


@lru_cache(maxsize=3)
def _finish(status: MailStatus) -> Query:
    values: dict[str, Any] = {
        "status": status.value,
        "leased_until": None,
        "lease_token": None,
        "last_error": bindparam("error", type_=Text),
    }
    if status is MailStatus.PENDING:
        values["next_attempt_at"] = func.now() + bindparam("retry_in", type_=Interval)
    else:
        values["completed_at"] = func.now()
        values["params"] = _FORGOTTEN
    return compile_query(
        update(M).where(M.id == _ID, M.lease_token == _TOKEN).values(values).returning(M.id)
    )


_DUE_AT = func.greatest(M.next_attempt_at, func.coalesce(M.leased_until, M.next_attempt_at))
_NEXT_DUE = compile_query(
    select(func.extract("epoch", func.min(_DUE_AT) - func.now())).where(M.status == PENDING)
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


def claimed(row: Any, token: uuid.UUID) -> ClaimedMail:
    mail_id, attempt, kind, recipient, params, expired = row
    return ClaimedMail(
        mail_id=mail_id,
        lease_token=token,
        attempt=attempt,
        kind=MailKind(kind),
        to=recipient,
        params=orjson.loads(params) if isinstance(params, str | bytes) else dict(params),
        expired=bool(expired),
    )


class PgMailQueue:
    """`MailQueue` over a worker's own pool."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim(
        self, *, limit: int, lease_seconds: float, token: uuid.UUID
    ) -> list[ClaimedMail]:
        async with self._database.transaction() as uow:
            rows = await uow.connection.rows(
                _CLAIM, limit=limit, lease=timedelta(seconds=lease_seconds), token=token
            )
        return [claimed(row, token) for row in rows]

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

    async def seconds_to_next_due(self) -> float | None:
        async with self._database.reader() as uow:
            seconds = await uow.connection.value(_NEXT_DUE)
        return None if seconds is None else float(seconds)

    async def purge(self, *, older_than: datetime, limit: int) -> int:
        """Forget mail sent or given up before `older_than`; how many rows went."""
        async with self._database.transaction() as uow:
            status = await uow.connection.execute(_PURGE, cutoff=older_than, limit=limit)
        return int(status.split()[-1])
