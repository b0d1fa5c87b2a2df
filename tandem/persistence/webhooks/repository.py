"""Every statement about webhook endpoints and their delivery log (the API's side).

The workers' side (claiming and finishing deliveries) is `queue.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Integer,
    Interval,
    String,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)

from tandem.domain.webhooks.records import (
    CUT_SHORT,
    IN_FLIGHT,
    AttemptRecord,
    DeliveryRecord,
    DeliveryStatus,
    Replayed,
    SigningTarget,
    WebhookRecord,
)
from tandem.persistence.events.channels import JOBS_CHANNEL, WEBHOOK_JOBS
from tandem.persistence.events.models import Event
from tandem.persistence.events.repository import endpoint_may_see, subscribed
from tandem.persistence.sql import Connection, Query, as_params, compile_query, settable
from tandem.persistence.users.models import User
from tandem.persistence.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

W = WebhookEndpoint
D = WebhookDelivery
A = WebhookAttempt

COLUMNS = (
    W.id,
    W.owner_id,
    W.url,
    W.events,
    W.active,
    W.disabled_reason,
    W.created_at,
    W.updated_at,
    W.api_version,
)
DELIVERY_COLUMNS = (
    D.id,
    D.endpoint_id,
    Event.public_id,
    Event.type,
    D.status,
    D.attempts,
    D.next_attempt_at,
    D.created_at,
    D.completed_at,
)
# An attempt is written when it is claimed; until its outcome is, it is in flight, or
# (once its lease is gone) cut short: its worker stopped, and the delivery goes again.
_UNFINISHED = A.duration_ms.is_(None)
_IN_FLIGHT = and_(D.status == "pending", D.attempts == A.number, D.leased_until > func.now())
ATTEMPT_COLUMNS = (
    A.delivery_id,
    A.number,
    A.started_at,
    func.coalesce(A.duration_ms, 0),
    A.status_code,
    case(
        (_UNFINISHED & _IN_FLIGHT, IN_FLIGHT),
        (_UNFINISHED, CUT_SHORT),
        else_=A.error,
    ),
    A.response_excerpt,
)

_ID = bindparam("webhook_id", type_=BigInteger)
_OWNER = bindparam("owner_id", type_=BigInteger)


def record(row: Any) -> WebhookRecord:
    return WebhookRecord(*row)


def delivery(row: Any, attempts: list[AttemptRecord]) -> DeliveryRecord:
    (id_, endpoint_id, event_id, kind, status, count, next_at, created_at, completed_at) = row
    return DeliveryRecord(
        id=id_,
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type=kind,
        status=DeliveryStatus(status),
        attempts=count,
        next_attempt_at=next_at if status == DeliveryStatus.PENDING else None,
        created_at=created_at,
        completed_at=completed_at,
        attempt_log=attempts,
    )


@lru_cache(maxsize=8)
def _add(names: tuple[str, ...]) -> Query:
    return compile_query(insert(W).values(settable(W.__table__, names)).returning(*COLUMNS))


_COUNT_OWNED = compile_query(select(func.count()).select_from(W).where(W.owner_id == _OWNER))
_OWNED = compile_query(select(*COLUMNS).where(W.owner_id == _OWNER).order_by(W.id))


@lru_cache(maxsize=2)
def _get_owned(for_update: bool) -> Query:
    statement = select(*COLUMNS).where(W.id == _ID, W.owner_id == _OWNER)
    return compile_query(statement.with_for_update() if for_update else statement)


@lru_cache(maxsize=16)
def _update(names: tuple[str, ...]) -> Query:
    values = {**settable(W.__table__, names), "updated_at": func.now()}
    return compile_query(update(W).where(W.id == _ID).values(values).returning(*COLUMNS))


_DELETE = compile_query(delete(W).where(W.id == _ID))
_SIGNING = compile_query(
    select(
        W.url,
        W.secret,
        case((W.previous_secret_expires_at > func.now(), W.previous_secret), else_=None),
    ).where(W.id == _ID)
)
_DISABLE_OWNED = compile_query(
    update(W)
    .where(W.owner_id == _OWNER, W.active)
    .values(active=False, disabled_reason=bindparam("reason", type_=String), updated_at=func.now())
    .returning(*COLUMNS)
)

_ROTATE = compile_query(
    update(W)
    .where(W.id == _ID)
    .values(
        previous_secret=W.secret,
        previous_secret_expires_at=func.now() + bindparam("overlap", type_=Interval),
        secret=bindparam("secret", type_=String),
        updated_at=func.now(),
    )
    .returning(*COLUMNS)
)


@lru_cache(maxsize=2)
def _deliveries(positioned: bool) -> Query:
    statement = (
        select(*DELIVERY_COLUMNS)
        .join(Event, Event.id == D.event_id)
        .where(D.endpoint_id == _ID)
        .order_by(D.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )
    if positioned:
        statement = statement.where(D.id < bindparam("before", type_=BigInteger))
    return compile_query(statement)


_ATTEMPTS = compile_query(
    select(*ATTEMPT_COLUMNS)
    .join(D, D.id == A.delivery_id)
    .where(A.delivery_id == any_(bindparam("delivery_ids", type_=ARRAY(BigInteger))))
    .order_by(A.delivery_id, A.id)
)


def _redeliver() -> Query:
    source = (
        select(D.event_id, D.endpoint_id)
        .where(D.id == bindparam("delivery_id", type_=BigInteger), D.endpoint_id == _ID)
        .cte("source")
    )
    again = (
        insert(D)
        .from_select(["event_id", "endpoint_id"], select(source.c.event_id, source.c.endpoint_id))
        .returning(*(column for column in D.__table__.c))
        .cte("again")
    )
    return compile_query(
        select(
            again.c.id,
            again.c.endpoint_id,
            Event.public_id,
            Event.type,
            again.c.status,
            again.c.attempts,
            again.c.next_attempt_at,
            again.c.created_at,
            again.c.completed_at,
            func.pg_notify(JOBS_CHANNEL, WEBHOOK_JOBS),
        ).join(Event, Event.id == again.c.event_id)
    )


_REDELIVER = _redeliver()


@lru_cache(maxsize=8)
def _replay(bounded: bool, typed: bool) -> Query:
    """The endpoint's next `limit + 1` events from `since` it hears, oldest first; the first
    `limit` queued as deliveries due now, and a worker woken. Returns (queued, last time)."""
    event = Event.__table__.alias("e")
    hears = (
        select(event.c.id, event.c.created_at)
        .select_from(event)
        .join(W, W.id == _ID)
        .join(User, User.id == W.owner_id)
        .where(
            event.c.created_at >= bindparam("since", type_=DateTime(timezone=True)),
            subscribed(event),
            endpoint_may_see(event),
        )
        .order_by(event.c.created_at, event.c.id)
        .limit(bindparam("limit", type_=Integer) + 1)
    )
    if bounded:
        hears = hears.where(event.c.created_at < bindparam("until", type_=DateTime(timezone=True)))
    if typed:
        hears = hears.where(event.c.type == any_(bindparam("types", type_=ARRAY(String))))
    found = hears.cte("found")
    ranked = select(
        found.c.id,
        found.c.created_at,
        func.row_number().over(order_by=(found.c.created_at, found.c.id)).label("n"),
    ).cte("ranked")
    queued = (
        insert(D)
        .from_select(
            ["event_id", "endpoint_id"],
            select(ranked.c.id, _ID).where(ranked.c.n <= bindparam("limit", type_=Integer)),
        )
        .returning(D.id)
        .cte("queued")
    )
    how_many = select(func.count()).select_from(queued).scalar_subquery()
    beyond = (
        select(func.min(ranked.c.created_at))
        .where(ranked.c.n > bindparam("limit", type_=Integer))
        .scalar_subquery()
    )
    wake = case((how_many > 0, func.pg_notify(JOBS_CHANNEL, WEBHOOK_JOBS)), else_=None)
    return compile_query(select(how_many, beyond, wake))


class WebhookRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(
        self, *, owner_id: int, url: str, events: list[str], secret: str, api_version: str
    ) -> WebhookRecord:
        given = {
            "owner_id": owner_id,
            "url": url,
            "events": events,
            "secret": secret,
            "api_version": api_version,
        }
        row = await self._connection.row(_add(tuple(sorted(given))), **as_params(given))
        assert row is not None  # INSERT ... RETURNING returns its row
        return record(row)

    async def count_owned(self, owner_id: int) -> int:
        return int(await self._connection.value(_COUNT_OWNED, owner_id=owner_id) or 0)

    async def owned(self, owner_id: int) -> list[WebhookRecord]:
        return [record(row) for row in await self._connection.rows(_OWNED, owner_id=owner_id)]

    async def get_owned(
        self, webhook_id: int, owner_id: int, *, for_update: bool = False
    ) -> WebhookRecord | None:
        query = _get_owned(for_update)
        row = await self._connection.row(query, webhook_id=webhook_id, owner_id=owner_id)
        return None if row is None else record(row)

    async def update(self, webhook_id: int, values: Mapping[str, Any]) -> WebhookRecord:
        query = _update(tuple(sorted(values)))
        row = await self._connection.row(query, webhook_id=webhook_id, **as_params(values))
        assert row is not None  # the caller holds the row's lock
        return record(row)

    async def delete(self, webhook_id: int) -> None:
        await self._connection.execute(_DELETE, webhook_id=webhook_id)

    async def disable_owned(self, owner_id: int, *, reason: str) -> list[WebhookRecord]:
        rows = await self._connection.rows(_DISABLE_OWNED, owner_id=owner_id, reason=reason)
        return sorted((record(row) for row in rows), key=lambda webhook: webhook.id)

    async def rotate_secret(
        self, webhook_id: int, *, secret: str, keep_previous_seconds: int
    ) -> WebhookRecord:
        overlap = timedelta(seconds=keep_previous_seconds)
        row = await self._connection.row(
            _ROTATE, webhook_id=webhook_id, secret=secret, overlap=overlap
        )
        assert row is not None  # the caller holds the row's lock
        return record(row)

    async def deliveries(
        self, webhook_id: int, *, before: int | None, limit: int
    ) -> list[DeliveryRecord]:
        params: dict[str, Any] = {"webhook_id": webhook_id, "limit": limit}
        if before is not None:
            params["before"] = before
        rows = await self._connection.rows(_deliveries(before is not None), **params)
        log: dict[int, list[AttemptRecord]] = {row[0]: [] for row in rows}
        if log:
            for attempt in await self._connection.rows(_ATTEMPTS, delivery_ids=list(log)):
                log[attempt[0]].append(AttemptRecord(*attempt[1:]))
        return [delivery(row, log[row[0]]) for row in rows]

    async def replay(
        self,
        webhook_id: int,
        *,
        since: datetime,
        until: datetime | None,
        types: list[str] | None,
        limit: int,
    ) -> Replayed:
        params: dict[str, Any] = {"webhook_id": webhook_id, "since": since, "limit": limit}
        if until is not None:
            params["until"] = until
        if types is not None:
            params["types"] = types
        row = await self._connection.row(_replay(until is not None, types is not None), **params)
        assert row is not None  # an aggregate answers one row
        queued, next_since, _ = row
        return Replayed(queued=queued, next_since=next_since)

    async def signing_target(self, webhook_id: int) -> SigningTarget:
        row = await self._connection.row(_SIGNING, webhook_id=webhook_id)
        assert row is not None  # the caller found the endpoint in this unit of work
        url, secret, previous = row
        return SigningTarget(url, (secret,) if previous is None else (secret, previous))

    async def redeliver(self, webhook_id: int, delivery_id: int) -> DeliveryRecord | None:
        row = await self._connection.row(_REDELIVER, webhook_id=webhook_id, delivery_id=delivery_id)
        return None if row is None else delivery(row[:-1], [])
