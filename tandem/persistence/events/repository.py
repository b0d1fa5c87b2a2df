"""Every statement about the outbox: append an event with its deliveries, read the stream, purge.

The stream is ordered by `Position` (the writing transaction's id, then the row
id) and read only below the horizon: `pg_snapshot_xmin(pg_current_snapshot())`,
the oldest transaction still running. Row ids are handed out before commit, so
a transaction that started first may commit last; below the horizon every
writer has finished, so nothing can later appear behind a reader's cursor. The
price: a long-running writing transaction anywhere in the cluster holds the
stream back until it ends (the events API and fan-out wait; nothing is lost).

`append` is one statement: the event, and one webhook delivery per active endpoint
whose owner may see it. It sends no NOTIFY in the writer's transaction (that would
queue every item write behind PostgreSQL's one notify lock): it asks its connection
to wake the fan-out (`tandem_events`) and, when it queued deliveries, the workers
(`tandem_jobs`), and the process sends those wake-ups once the transaction has
committed, coalesced (tandem/persistence/wakeups.py). A rolled-back change wakes
no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB

from tandem.domain.events.ids import PREFIX
from tandem.domain.events.records import EventRecord, EventType, NewEvent, Position
from tandem.domain.items.records import ItemStatus
from tandem.domain.principal import Viewer
from tandem.persistence.events.channels import EVENTS_CHANNEL, JOBS_CHANNEL, WEBHOOK_JOBS
from tandem.persistence.events.models import Event
from tandem.persistence.items.models import Item
from tandem.persistence.sql import Connection, Query, compile_query
from tandem.persistence.users.models import User
from tandem.persistence.webhooks.models import WebhookDelivery, WebhookEndpoint

COLUMNS = (
    Event.public_id,
    Event.type,
    Event.item_id,
    Event.owner_id,
    Event.draft,
    Event.data,
    Event.created_at,
    Event.txid,
    Event.id,
)


def record(row: Any) -> EventRecord:
    public_id, kind, item_id, owner_id, draft, data, created_at, txid, seq = row
    return EventRecord(
        id=public_id,
        type=EventType(kind),
        item_id=item_id,
        owner_id=owner_id,
        draft=draft,
        data=orjson.loads(data) if isinstance(data, str | bytes) else data,
        created_at=created_at,
        position=Position(txid, seq),
    )


def horizon() -> Any:
    """The oldest transaction still running: every event below it has committed or never will."""
    return cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)


def visible_to(is_admin: bool) -> Any:
    """The draft rule, as for items: a draft's events are seen by its owner and admins."""
    if is_admin:
        return None
    return or_(not_(Event.draft), Event.owner_id == bindparam("viewer_id", type_=BigInteger))


def endpoint_may_see(event: Any) -> Any:
    """An endpoint hears what its owner may see: admins everything, others no foreign draft."""
    return or_(User.role == "admin", not_(event.c.draft), event.c.owner_id == User.id)


def subscribed(event: Any) -> Any:
    return or_(
        event.c.type == any_(WebhookEndpoint.events), literal("*") == any_(WebhookEndpoint.events)
    )


def _announced(written: Any) -> Query:
    """`written`'s events and one webhook delivery per endpoint that hears each; returns
    (events written, deliveries queued)."""
    targets = (
        select(written.c.id, WebhookEndpoint.id)
        .select_from(written)
        .join(WebhookEndpoint, true())
        .join(User, User.id == WebhookEndpoint.owner_id)
        .where(WebhookEndpoint.active, User.is_active, subscribed(written))
        .where(endpoint_may_see(written))
    )
    queued = (
        insert(WebhookDelivery)
        .from_select(["event_id", "endpoint_id"], targets)
        .returning(WebhookDelivery.id)
        .cte("queued")
    )
    how_many = select(func.count()).select_from(queued).scalar_subquery()
    events = select(func.count()).select_from(written).scalar_subquery()
    return compile_query(select(events, how_many))


_WRITTEN = (Event.id, Event.public_id, Event.type, Event.owner_id, Event.draft)


@lru_cache(maxsize=1)
def _append() -> Query:
    written = (
        insert(Event)
        .values(
            public_id=bindparam("public_id", type_=String),
            type=bindparam("type", type_=String),
            item_id=bindparam("item_id", type_=BigInteger),
            owner_id=bindparam("owner_id", type_=BigInteger),
            draft=bindparam("draft", type_=Boolean),
            data=cast(bindparam("data", type_=Text), JSONB),
        )
        .returning(*_WRITTEN)
        .cte("written")
    )
    return _announced(written)


@lru_cache(maxsize=1)
def _append_owner_deletions() -> Query:
    """An `item.deleted` for each of an owner's items (ids `evt_` + 26 random hex digits)."""
    node_id = func.encode(func.convert_to(literal("Item:") + cast(Item.id, Text), "UTF8"), "base64")
    data = func.jsonb_build_object(
        "item", func.jsonb_build_object("id", Item.id, "node_id", node_id)
    )
    public_id = literal(PREFIX) + func.substr(
        func.replace(cast(func.gen_random_uuid(), Text), "-", ""), 1, 26
    )
    rows = select(
        public_id,
        literal(EventType.ITEM_DELETED.value),
        Item.id,
        Item.owner_id,
        Item.status == ItemStatus.DRAFT.value,
        data,
    ).where(Item.owner_id == bindparam("owner_id", type_=BigInteger))
    written = (
        insert(Event)
        .from_select(["public_id", "type", "item_id", "owner_id", "draft", "data"], rows)
        .returning(*_WRITTEN)
        .cte("written")
    )
    return _announced(written)


@lru_cache(maxsize=16)
def _page(is_admin: bool, typed: bool, positioned: bool, filtered: bool) -> Query:
    statement = select(*COLUMNS).where(Event.txid < horizon())
    visibility = visible_to(is_admin) if filtered else None
    if visibility is not None:
        statement = statement.where(visibility)
    if typed:
        statement = statement.where(Event.type == any_(bindparam("types", type_=ARRAY(String))))
    if positioned:
        bound = tuple_(
            bindparam("after_txid", type_=BigInteger), bindparam("after_seq", type_=BigInteger)
        )
        statement = statement.where(tuple_(Event.txid, Event.id) > bound)
    limit = bindparam("limit", type_=Integer)
    return compile_query(statement.order_by(Event.txid, Event.id).limit(limit))


@lru_cache(maxsize=2)
def _get_visible(is_admin: bool) -> Query:
    statement = select(*COLUMNS).where(Event.public_id == bindparam("public_id", type_=String))
    visibility = visible_to(is_admin)
    return compile_query(statement if visibility is None else statement.where(visibility))


_GET_MANY = compile_query(
    select(*COLUMNS)
    .where(Event.public_id == any_(bindparam("public_ids", type_=ARRAY(String))))
    .order_by(Event.txid, Event.id)
)

_PURGE = compile_query(
    delete(Event).where(
        Event.id.in_(
            select(Event.id)
            .where(Event.created_at < bindparam("older_than", type_=DateTime(timezone=True)))
            .order_by(Event.created_at)
            .limit(bindparam("limit", type_=Integer))
        )
    )
)


def _position(position: Position | None) -> dict[str, Any]:
    return {} if position is None else {"after_txid": position.txid, "after_seq": position.seq}


class EventRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def append(self, event: NewEvent) -> None:
        row = await self._connection.row(
            _append(),
            public_id=event.public_id,
            type=str(event.type),
            item_id=event.item_id,
            owner_id=event.owner_id,
            draft=event.draft,
            data=orjson.dumps(event.data).decode(),
        )
        self._wake(row)

    async def append_owner_deletions(self, owner_id: int) -> None:
        row = await self._connection.row(_append_owner_deletions(), owner_id=owner_id)
        self._wake(row)

    def _wake(self, row: Any) -> None:
        """Wake the fan-out, and the workers if deliveries were queued, once this commits."""
        events, deliveries = row if row is not None else (0, 0)
        if events:
            self._connection.wake(EVENTS_CHANNEL)
        if deliveries:
            self._connection.wake(JOBS_CHANNEL, WEBHOOK_JOBS)

    async def visible_page(
        self,
        viewer: Viewer,
        *,
        after: Position | None,
        types: Sequence[str] | None,
        limit: int,
    ) -> list[EventRecord]:
        query = _page(viewer.is_admin, types is not None, after is not None, True)
        params: dict[str, Any] = {"limit": limit, "viewer_id": viewer.user_id, **_position(after)}
        if types is not None:
            params["types"] = list(types)
        return [record(row) for row in await self._connection.rows(query, **params)]

    async def get_visible(self, event_id: str, viewer: Viewer) -> EventRecord | None:
        query = _get_visible(viewer.is_admin)
        row = await self._connection.row(query, public_id=event_id, viewer_id=viewer.user_id)
        return None if row is None else record(row)

    async def page(self, *, after: Position | None, limit: int) -> list[EventRecord]:
        query = _page(True, False, after is not None, False)
        rows = await self._connection.rows(query, limit=limit, **_position(after))
        return [record(row) for row in rows]

    async def get_many(self, event_ids: Sequence[str]) -> list[EventRecord]:
        rows = await self._connection.rows(_GET_MANY, public_ids=list(event_ids))
        return [record(row) for row in rows]

    async def purge(self, *, older_than: datetime, limit: int) -> int:
        status = await self._connection.execute(_PURGE, older_than=older_than, limit=limit)
        return int(status.split()[-1])
