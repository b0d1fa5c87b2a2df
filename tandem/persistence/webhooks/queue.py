"""The delivery queue the workers share: claim with a lease, finish with the attempt's record.

A claim is one statement: due deliveries are picked with `FOR UPDATE SKIP LOCKED`
(so concurrent claimers never wait on, nor take, each other's rows) and leased
(`leased_until`, `lease_token`) before the statement commits. The HTTP call runs
outside any transaction; a worker that dies mid-delivery simply never finishes,
and the delivery is due again when its lease runs out. Finishing checks the
token, so a worker that outlived its lease records its attempt but cannot
overwrite what the delivery's new holder decides.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Interval,
    String,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)

from tandem.domain.webhooks.records import ClaimedDelivery, DeliveryStatus, Outcome
from tandem.persistence.database import Database
from tandem.persistence.events import repository as events
from tandem.persistence.events.models import Event
from tandem.persistence.sql import Query, compile_query
from tandem.persistence.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

D = WebhookDelivery
W = WebhookEndpoint
_TOKEN = bindparam("token", type_=Uuid)
_DELIVERY = bindparam("delivery_id", type_=BigInteger)


def _due() -> Any:
    return and_(
        D.status == DeliveryStatus.PENDING.value,
        W.active,
        D.next_attempt_at <= func.now(),
        (D.leased_until.is_(None)) | (D.leased_until <= func.now()),
    )


def _claim() -> Query:
    picked = (
        select(D.id)
        .join(W, W.id == D.endpoint_id)
        .where(_due())
        .order_by(D.next_attempt_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(of=D, skip_locked=True)
        .cte("picked")
    )
    live_previous = case((W.previous_secret_expires_at > func.now(), W.previous_secret), else_=None)
    return compile_query(
        update(D)
        .where(D.id == picked.c.id, W.id == D.endpoint_id, Event.id == D.event_id)
        .values(
            leased_until=func.now() + bindparam("lease", type_=Interval),
            lease_token=_TOKEN,
            attempts=D.attempts + 1,
        )
        .returning(D.id, D.attempts, W.id, W.url, W.secret, live_previous, *events.COLUMNS)
    )


_CLAIM = _claim()

_RECORD_ATTEMPT = compile_query(
    insert(WebhookAttempt).values(
        delivery_id=_DELIVERY,
        number=bindparam("number", type_=Integer),
        started_at=bindparam("started_at", type_=DateTime(timezone=True)),
        duration_ms=bindparam("duration_ms", type_=Integer),
        status_code=bindparam("status_code", type_=Integer),
        error=bindparam("error", type_=Text),
        response_excerpt=bindparam("excerpt", type_=Text),
    )
)


@lru_cache(maxsize=3)
def _finish(status: DeliveryStatus) -> Query:
    values: dict[str, Any] = {
        "status": status.value,
        "leased_until": None,
        "lease_token": None,
        "last_status_code": bindparam("status_code", type_=Integer),
        "last_error": bindparam("error", type_=Text),
    }
    if status is DeliveryStatus.PENDING:
        values["next_attempt_at"] = func.now() + bindparam("retry_in", type_=Interval)
    else:
        values["completed_at"] = func.now()
    return compile_query(
        update(D).where(D.id == _DELIVERY, D.lease_token == _TOKEN).values(values).returning(D.id)
    )


_DISABLE = compile_query(
    update(W)
    .where(W.id == bindparam("endpoint_id", type_=BigInteger))
    .values(active=False, disabled_reason=bindparam("reason", type_=String), updated_at=func.now())
)

_DUE_AT = func.greatest(D.next_attempt_at, func.coalesce(D.leased_until, D.next_attempt_at))
_NEXT_DUE = compile_query(
    select(func.extract("epoch", func.min(_DUE_AT) - func.now()))
    .join(W, W.id == D.endpoint_id)
    .where(D.status == DeliveryStatus.PENDING.value, W.active)
)


_LAG = compile_query(
    select(func.coalesce(func.extract("epoch", func.now() - func.min(Event.created_at)), 0))
    .select_from(D)
    .join(W, W.id == D.endpoint_id)
    .join(Event, Event.id == D.event_id)
    .where(D.status == DeliveryStatus.PENDING.value, W.active)
)


def claimed(row: Any, token: uuid.UUID) -> ClaimedDelivery:
    delivery_id, attempt, endpoint_id, url, secret, previous, *event = row
    return ClaimedDelivery(
        delivery_id=delivery_id,
        lease_token=token,
        attempt=attempt,
        endpoint_id=endpoint_id,
        url=url,
        secrets=(secret,) if previous is None else (secret, previous),
        event=events.record(event),
    )


class PgDeliveryQueue:
    """`DeliveryQueue` over a worker's own pool: each call is its own short transaction."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim(
        self, *, limit: int, lease_seconds: float, token: uuid.UUID
    ) -> list[ClaimedDelivery]:
        async with self._database.transaction() as uow:
            rows = await uow.connection.rows(
                _CLAIM, limit=limit, lease=timedelta(seconds=lease_seconds), token=token
            )
        return [claimed(row, token) for row in rows]

    async def finish(
        self,
        claimed: ClaimedDelivery,
        outcome: Outcome,
        *,
        retry_in: float | None,
        disable_reason: str | None,
    ) -> bool:
        if outcome.succeeded:
            status = DeliveryStatus.SUCCEEDED
        elif retry_in is not None:
            status = DeliveryStatus.PENDING
        else:
            status = DeliveryStatus.FAILED
        params: dict[str, Any] = {
            "delivery_id": claimed.delivery_id,
            "token": claimed.lease_token,
            "status_code": outcome.status_code,
            "error": outcome.error,
        }
        if status is DeliveryStatus.PENDING:
            params["retry_in"] = timedelta(seconds=retry_in or 0)
        async with self._database.transaction() as uow:
            await uow.connection.execute(
                _RECORD_ATTEMPT,
                delivery_id=claimed.delivery_id,
                number=claimed.attempt,
                started_at=outcome.started_at,
                duration_ms=outcome.duration_ms,
                status_code=outcome.status_code,
                error=outcome.error,
                excerpt=outcome.response_excerpt,
            )
            held = await uow.connection.row(_finish(status), **params)
            if held is not None and status is DeliveryStatus.FAILED and disable_reason:
                await uow.connection.execute(
                    _DISABLE, endpoint_id=claimed.endpoint_id, reason=disable_reason
                )
        return held is not None

    async def lag_seconds(self) -> float:
        """The age of the oldest event whose delivery still waits (0 when none waits)."""
        async with self._database.reader() as uow:
            return float(await uow.connection.value(_LAG) or 0)

    async def seconds_to_next_due(self) -> float | None:
        """Seconds (by the database's clock) until the soonest waiting delivery is due."""
        async with self._database.reader() as uow:
            seconds = await uow.connection.value(_NEXT_DUE)
        return None if seconds is None else float(seconds)
