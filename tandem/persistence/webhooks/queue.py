"""Webhook deliveries as a leased queue (tandem/persistence/leased_queue.py), made fair.

A claim locks the active endpoints that have due deliveries (`FOR NO KEY UPDATE
SKIP LOCKED`, so two claims never fill one endpoint's room at once, and writers
adding deliveries are never blocked), takes from each at most its room (`cap` less
the deliveries leased to it now, by any worker), leases them and records each
attempt as started, all before it commits. So a slow or hanging endpoint holds at
most `cap` deliveries in flight, and an attempt whose worker dies still appears in
the log. Finishing fills the attempt in; a success makes the endpoint's waiting
retries due at once: the receiver is back, so they need not sit out their backoff.
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
    String,
    Text,
    bindparam,
    case,
    exists,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased

from tandem.domain.mail import messages
from tandem.domain.webhooks.records import ClaimedDelivery, DeliveryStatus, Outcome
from tandem.persistence import leased_queue
from tandem.persistence.database import Database
from tandem.persistence.events import repository as events
from tandem.persistence.events.models import Event
from tandem.persistence.leased_queue import LeasedQueue
from tandem.persistence.sql import Query, compile_query
from tandem.persistence.users.models import User
from tandem.persistence.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

D = WebhookDelivery
W = WebhookEndpoint
A = WebhookAttempt
PENDING = DeliveryStatus.PENDING.value
_DELIVERY = bindparam("delivery_id", type_=BigInteger)
_CAP = bindparam("cap", type_=Integer)


def _due(delivery: Any) -> Any:
    return leased_queue.due(delivery, PENDING)


def _in_flight(endpoint_id: Any) -> Any:
    """How many of the endpoint's deliveries some worker holds a live lease on."""
    held = aliased(D)
    return (
        select(func.count())
        .select_from(held)
        .where(
            held.endpoint_id == endpoint_id,
            held.status == PENDING,
            held.leased_until > func.now(),
        )
        .scalar_subquery()
    )


def _claim() -> Query:
    waiting = aliased(D)
    ready = (
        select(W.id.label("endpoint_id"), (_CAP - _in_flight(W.id)).label("room"))
        .where(W.active, exists().where(waiting.endpoint_id == W.id, _due(waiting)))
        .with_for_update(of=W, key_share=True, skip_locked=True)
        .cte("ready")
    )
    each = aliased(D)
    taken = (
        select(each.id, each.next_attempt_at)
        .where(each.endpoint_id == ready.c.endpoint_id, _due(each))
        .order_by(each.next_attempt_at)
        .limit(func.greatest(ready.c.room, 0))
        .with_for_update(of=each, skip_locked=True)
        .lateral("taken")
    )
    picked = (
        select(taken.c.id)
        .select_from(ready.join(taken, true()))
        .order_by(taken.c.next_attempt_at)
        .limit(leased_queue.LIMIT)
        .cte("picked")
    )
    leased = (
        update(D)
        .where(D.id == picked.c.id)
        .values(leased_queue.lease(D))
        .returning(D.id, D.attempts, D.endpoint_id, D.event_id, D.traceparent)
        .cte("leased")
    )
    started = insert(A).from_select(
        ["delivery_id", "number", "started_at"],
        select(leased.c.id, leased.c.attempts, func.now()),
    )
    live_previous = case((W.previous_secret_expires_at > func.now(), W.previous_secret), else_=None)
    return compile_query(
        select(
            leased.c.id,
            leased.c.attempts,
            W.id,
            W.url,
            W.secret,
            live_previous,
            leased.c.traceparent,
            W.api_version,
            *events.COLUMNS,
        )
        .select_from(leased)
        .join(W, W.id == leased.c.endpoint_id)
        .join(Event, Event.id == leased.c.event_id)
        .add_cte(started.cte("started"))
    )


_RECORD_ATTEMPT = compile_query(
    update(A)
    .where(A.delivery_id == _DELIVERY, A.number == bindparam("number", type_=Integer))
    .values(
        started_at=bindparam("started_at", type_=DateTime(timezone=True)),
        duration_ms=bindparam("duration_ms", type_=Integer),
        status_code=bindparam("status_code", type_=Integer),
        error=bindparam("error", type_=Text),
        response_excerpt=bindparam("excerpt", type_=Text),
    )
)


@lru_cache(maxsize=3)
def _finish(status: DeliveryStatus) -> Query:
    values = {
        "last_status_code": bindparam("status_code", type_=Integer),
        "last_error": bindparam("error", type_=Text),
    }
    retry = status is DeliveryStatus.PENDING
    return leased_queue.finish(D, _DELIVERY, status=status.value, retry=retry, values=values)


_ENDPOINT = bindparam("endpoint_id", type_=BigInteger)
# Disables an active endpoint; returns its owner and URL, for the mail that says so.
_DISABLE = compile_query(
    update(W)
    .where(W.id == _ENDPOINT, W.active, User.id == W.owner_id)
    .values(active=False, disabled_reason=bindparam("reason", type_=String), updated_at=func.now())
    .returning(User.id, User.email, User.name, W.url)
)
# The receiver answered: what waits out a backoff for it is due now.
_RESUME = compile_query(
    update(D)
    .where(
        D.endpoint_id == _ENDPOINT,
        D.status == PENDING,
        D.attempts > 0,
        D.next_attempt_at > func.now(),
    )
    .values(next_attempt_at=func.now())
)


def _next_due() -> Query:
    """Seconds to the soonest delivery of an endpoint with room (at cap, a finish wakes us)."""
    open_ = select(W.id).where(W.active, _in_flight(W.id) < _CAP).cte("open")
    free = aliased(D)
    soonest_free = (
        select(func.min(free.next_attempt_at))
        .where(
            free.endpoint_id == open_.c.id,
            free.status == PENDING,
            free.leased_until.is_(None) | (free.leased_until <= func.now()),
        )
        .scalar_subquery()
    )
    held = aliased(D)
    soonest_expiry = (
        select(func.min(held.leased_until))
        .where(
            held.endpoint_id == open_.c.id,
            held.status == PENDING,
            held.leased_until > func.now(),
        )
        .scalar_subquery()
    )
    return compile_query(
        select(
            func.extract("epoch", func.min(func.least(soonest_free, soonest_expiry)) - func.now())
        ).select_from(open_)
    )


_LAG = compile_query(
    select(func.coalesce(func.extract("epoch", func.now() - func.min(Event.created_at)), 0))
    .select_from(D)
    .join(W, W.id == D.endpoint_id)
    .join(Event, Event.id == D.event_id)
    .where(D.status == PENDING, W.active)
)


class PgDeliveryQueue(LeasedQueue[ClaimedDelivery]):
    """`DeliveryQueue` over a worker's own pool: each call is its own short transaction.

    `seconds_to_next_due` leaves out endpoints at their cap: the finish that makes
    room wakes its worker.
    """

    claim_query = _claim()
    next_due_query = _next_due()

    def __init__(self, database: Database, *, endpoint_concurrency: int) -> None:
        super().__init__(database)
        self._cap = endpoint_concurrency

    def query_params(self) -> dict[str, Any]:
        return {"cap": self._cap}

    async def claim(
        self, *, limit: int, lease_seconds: float, token: uuid.UUID
    ) -> list[ClaimedDelivery]:
        claimed = await super().claim(limit=limit, lease_seconds=lease_seconds, token=token)
        keep = getattr(self._database, "keep_receivers_positions", None)  # read replicas only
        if claimed and keep is not None:
            await keep(sorted({delivery.endpoint_id for delivery in claimed}))
        return claimed

    def claimed(self, row: Any, token: uuid.UUID) -> ClaimedDelivery:
        delivery_id, attempt, endpoint_id, url, secret, previous, trace_context, version, *event = (
            row
        )
        return ClaimedDelivery(
            delivery_id=delivery_id,
            lease_token=token,
            attempt=attempt,
            endpoint_id=endpoint_id,
            url=url,
            secrets=(secret,) if previous is None else (secret, previous),
            event=events.record(event),
            trace_context=trace_context,
            api_version=version,
        )

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
                owner = await uow.connection.row(
                    _DISABLE, endpoint_id=claimed.endpoint_id, reason=disable_reason
                )
                if owner is not None:
                    user_id, email, name, url = owner
                    notice = messages.webhooks_disabled(
                        user_id=user_id,
                        email=email,
                        name=name,
                        why=f"Deliveries kept failing until their retries ran out"
                        f" ({disable_reason})",
                        urls=[url],
                    )
                    await uow.mail.enqueue([notice])
            if status is DeliveryStatus.SUCCEEDED:
                await uow.connection.execute(_RESUME, endpoint_id=claimed.endpoint_id)
        return held is not None

    async def lag_seconds(self) -> float:
        """The age of the oldest event whose delivery still waits (0 when none waits)."""
        async with self._database.reader() as uow:
            return float(await uow.connection.value(_LAG) or 0)
