"""Every statement about the request log: a batch appended, a user's page read, the purge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    Text,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
)

from tandem.domain.requests.records import LoggedRequest, RequestEntry
from tandem.persistence.requests.models import RequestLogRow
from tandem.persistence.sql import Connection, compile_query

# The columns an entry fills, in RequestEntry's field order, each bound as one array:
# a batch of any size is one statement (INSERT … SELECT FROM unnest(…)) with one plan.
_FIELDS: tuple[tuple[str, Any], ...] = (
    ("at", DateTime(timezone=True)),
    ("user_id", BigInteger),
    ("client_id", Text),
    ("method", Text),
    ("route", Text),
    ("status", SmallInteger),
    ("error_code", Text),
    ("request_id", Text),
    ("idempotency_key", Text),
    ("duration_ms", Float),
)
_APPEND = compile_query(
    insert(RequestLogRow).from_select(
        [name for name, _ in _FIELDS],
        select(literal_column("*")).select_from(
            func.unnest(*(bindparam(name, type_=ARRAY(kind)) for name, kind in _FIELDS))
        ),
    )
)
_COLUMNS = [getattr(RequestLogRow, name) for name, _ in _FIELDS]
_USER = bindparam("user_id", type_=BigInteger)
_BEFORE = bindparam("before", type_=BigInteger)
_LIMIT = bindparam("limit", type_=Integer)
_ALL = select(RequestLogRow.id, *_COLUMNS).order_by(RequestLogRow.id.desc()).limit(_LIMIT)
_PAGES = {
    (mine, older): compile_query(
        _ALL.where(*((RequestLogRow.user_id == _USER,) if mine else ())).where(
            *((RequestLogRow.id < _BEFORE,) if older else ())
        )
    )
    for mine in (False, True)
    for older in (False, True)
}
_PURGE = compile_query(
    delete(RequestLogRow).where(
        RequestLogRow.id.in_(
            select(RequestLogRow.id)
            .where(RequestLogRow.at < bindparam("older_than", type_=DateTime(timezone=True)))
            .limit(_LIMIT)
        )
    )
)


class RequestLogRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def append(self, entries: Sequence[RequestEntry]) -> None:
        if not entries:
            return
        columns = {name: [getattr(entry, name) for entry in entries] for name, _ in _FIELDS}
        await self._connection.execute(_APPEND, **columns)

    async def newest_first(
        self, *, user_id: int | None, before: int | None, limit: int
    ) -> list[LoggedRequest]:
        query = _PAGES[(user_id is not None, before is not None)]
        rows = await self._connection.rows(query, user_id=user_id, before=before, limit=limit)
        return [
            LoggedRequest(
                id=row["id"], entry=RequestEntry(**{name: row[name] for name, _ in _FIELDS})
            )
            for row in rows
        ]

    async def purge(self, *, older_than: datetime, limit: int) -> int:
        status = await self._connection.execute(_PURGE, older_than=older_than, limit=limit)
        return int(status.rsplit(" ", 1)[-1])
