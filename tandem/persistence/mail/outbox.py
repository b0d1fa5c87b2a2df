"""Queueing mail in the caller's transaction, and waking the workers when it commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    DateTime,
    Select,
    Text,
    bindparam,
    cast,
    column,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from tandem.domain.mail.records import MailRequest
from tandem.persistence.events.channels import JOBS_CHANNEL, MAIL_JOBS
from tandem.persistence.mail.models import OutboxMail
from tandem.persistence.sql import Connection, compile_query

_FIELDS = ("user_id", "kind", "recipient", "params", "send_before")


def _enqueue() -> Select[Any]:
    """Every mail of the call in one statement (a JSON array of rows); returns whether any
    was queued. The workers are woken once the transaction commits, outside it
    (tandem/persistence/wakeups.py), never by a NOTIFY in the writer's transaction.
    """
    rows = (
        func.jsonb_to_recordset(cast(bindparam("mails", type_=Text), JSONB))
        .table_valued(
            column("user_id", BigInteger),
            column("kind", Text),
            column("recipient", Text),
            column("params", JSONB),
            column("send_before", DateTime(timezone=True)),
        )
        .render_derived(name="mail", with_types=True)
    )
    queued = (
        insert(OutboxMail)
        .from_select(list(_FIELDS), select(*(rows.c[name] for name in _FIELDS)))
        .returning(OutboxMail.id)
        .cte("queued")
    )
    return select(select(queued.c.id).exists())


_ENQUEUE = compile_query(_enqueue())


def _row(mail: MailRequest) -> dict[str, object]:
    return {
        "user_id": mail.user_id,
        "kind": mail.kind.value,
        "recipient": mail.to,
        "params": mail.params,
        "send_before": None if mail.send_before is None else mail.send_before.isoformat(),
    }


class MailOutboxRepository:
    """`MailOutbox` over the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def enqueue(self, mails: Sequence[MailRequest]) -> None:
        payload = orjson.dumps([_row(mail) for mail in mails]).decode()
        if await self._connection.value(_ENQUEUE, mails=payload):
            self._connection.wake(JOBS_CHANNEL, MAIL_JOBS)
