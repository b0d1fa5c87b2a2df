"""The one leased queue the workers share: webhook deliveries and mail are both kinds of it.

A table of jobs with `status`, `attempts`, `next_attempt_at`, `leased_until`,
`lease_token` and `completed_at`. A claim is one statement that picks due rows
with `FOR UPDATE SKIP LOCKED` (concurrent claimers never wait on, nor take, each
other's rows) and leases them before it commits; the work (an HTTP call, an SMTP
conversation) runs outside any transaction; a worker that dies mid-job never
finishes it, and the job is due again when its lease runs out. Finishing checks
the lease token, so a worker that outlived its lease cannot overwrite what the
job's new holder decides. Each kind says only what differs: which rows a claim
may take and what it returns, and what a finish writes besides the status.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Interval, Uuid, and_, bindparam, func, update

from tandem.persistence.database import Database
from tandem.persistence.sql import Query, compile_query

Job = TypeVar("Job")
TOKEN = bindparam("token", type_=Uuid)
LEASE = bindparam("lease", type_=Interval)
LIMIT = bindparam("limit", type_=Integer)
RETRY_IN = bindparam("retry_in", type_=Interval)


def due(table: Any, pending: str = "pending") -> Any:
    """Waiting, due, and held by no live lease."""
    return and_(
        table.status == pending,
        table.next_attempt_at <= func.now(),
        table.leased_until.is_(None) | (table.leased_until <= func.now()),
    )


def lease(table: Any) -> dict[str, Any]:
    """What a claim writes: the lease (until now + `lease`, under `token`) and one more attempt."""
    return {
        "leased_until": func.now() + LEASE,
        "lease_token": TOKEN,
        "attempts": table.attempts + 1,
    }


def finish(
    table: Any, job_id: Any, *, status: str, retry: bool, values: Mapping[str, Any]
) -> Query:
    """End the lease held under `token`: wait `retry_in` for another try, or complete.

    Returns the job's id only while the lease was still this worker's.
    """
    written: dict[str, Any] = {
        "status": status,
        "leased_until": None,
        "lease_token": None,
        **values,
    }
    if retry:
        written["next_attempt_at"] = func.now() + RETRY_IN
    else:
        written["completed_at"] = func.now()
    return compile_query(
        update(table)
        .where(table.id == job_id, table.lease_token == TOKEN)
        .values(written)
        .returning(table.id)
    )


def due_at(table: Any) -> Any:
    """When a waiting job can next be claimed: its retry time, or its lease's end."""
    return func.greatest(
        table.next_attempt_at, func.coalesce(table.leased_until, table.next_attempt_at)
    )


class LeasedQueue(Generic[Job]):
    """Claim and the next-due time over a worker's own pool; each call its own transaction.

    A kind gives its claim statement (taking `limit`, `lease` and `token`), how a row
    becomes a job, and a statement for the seconds until the soonest job is due.
    """

    claim_query: Query
    next_due_query: Query

    def __init__(self, database: Database) -> None:
        self._database = database

    def claimed(self, row: Any, token: uuid.UUID) -> Job:
        raise NotImplementedError

    def query_params(self) -> dict[str, Any]:
        """Parameters of the kind's own, given to the claim and the next-due statements."""
        return {}

    async def claim(self, *, limit: int, lease_seconds: float, token: uuid.UUID) -> list[Job]:
        async with self._database.transaction() as uow:
            rows = await uow.connection.rows(
                self.claim_query,
                limit=limit,
                lease=timedelta(seconds=lease_seconds),
                token=token,
                **self.query_params(),
            )
        return [self.claimed(row, token) for row in rows]

    async def seconds_to_next_due(self) -> float | None:
        """Seconds (by the database's clock) until the soonest claimable job is due."""
        async with self._database.reader() as uow:
            seconds = await uow.connection.value(self.next_due_query, **self.query_params())
        return None if seconds is None else float(seconds)
