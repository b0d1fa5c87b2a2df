"""Statements built with SQLAlchemy, compiled once per shape, run on asyncpg directly.

SQLAlchemy builds every statement (so `visible_to` and the other builders stay
composable and typed) and compiles it once for its shape: every value that
varies is a named `bindparam`, so one compiled text serves every call.
Execution goes straight to asyncpg: measured here, SQLAlchemy's execution layer
cost several times the statement's own round trip (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, bindparam, literal_column
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.sql import ClauseElement

import tandem.persistence.models  # noqa: F401  (every mapper configured before compiling)
from tandem.persistence.faults import discard, is_connection_lost, search_took_too_long

_DIALECT = AsyncpgDialect()  # type: ignore[no-untyped-call]

Observer = Callable[[str], None]
Reconnect = Callable[[], Awaitable[asyncpg.Connection]]


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled statement: its SQL text, its parameters in order, and their constant values."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    search: bool = False  # runs under the connection's search timeout (persistence/items/search)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments; a named parameter left out raises KeyError, never NULL."""
        return [params[name] if name in params else self.constants[name] for name in self.names]


def compile_query(statement: ClauseElement, *, search: bool = False) -> Query:
    """Compile once; bindparams without a value must be given at every call.

    `search`: the statement searches text, and is stopped at the search timeout.
    """
    compiled: Any = statement.compile(dialect=_DIALECT)  # a SQLCompiler: it has positiontup
    constants = {
        name: value
        for name, value in compiled.params.items()
        if not _bind_named(compiled, name).required
    }
    return Query(compiled.string, tuple(compiled.positiontup or ()), constants, search)


def written(number: int) -> ColumnElement[Any]:
    """An integer written into the statement's text rather than bound: for a `LIMIT` whose
    value the planner must know to keep one plan (tandem/persistence/items/lists.py)."""
    return literal_column(str(int(number)))


def _bind_named(compiled: Any, name: str) -> Any:
    for bind, bind_name in compiled.bind_names.items():
        if bind_name == name:
            return bind
    raise KeyError(name)


class Connection:
    """One pooled asyncpg connection that runs compiled queries and reports each statement.

    A reader's connection may be given `retry`: where a statement fails because the
    connection died (killed backend, restarted server), it runs once more on a fresh
    connection. Only reads get one: a read changes nothing, so running it twice is
    harmless, while a write might have committed before its connection broke.
    """

    __slots__ = ("_observers", "_retry", "_search_timeout", "raw", "replacement", "wakes")

    def __init__(
        self,
        raw: asyncpg.Connection,
        observers: Sequence[Observer],
        *,
        retry: Reconnect | None = None,
        search_timeout: float | None = None,
    ) -> None:
        self.raw = raw
        self._observers = observers
        self._retry = retry
        self._search_timeout = search_timeout
        self.replacement: asyncpg.Connection | None = None  # closed by whoever lent `raw`
        # (channel, payload) to NOTIFY once the transaction commits (tandem/persistence/wakeups.py)
        self.wakes: set[tuple[str, str]] = set()

    def wake(self, channel: str, payload: str = "") -> None:
        """Have listeners on `channel` woken after this transaction commits, never before."""
        self.wakes.add((channel, payload))

    def _args(self, query: Query, params: Mapping[str, Any]) -> list[Any]:
        for observe in self._observers:
            observe(query.sql)
        return query.args(params)

    async def _run(self, method: str, query: Query, params: Mapping[str, Any]) -> Any:
        args = self._args(query, params)
        if query.search and self._search_timeout:
            return await self._search(method, query, args, self._search_timeout)
        try:
            return await getattr(self.raw, method)(query.sql, *args)
        except Exception as error:
            if self._retry is None or self.replacement is not None:
                raise
            if not is_connection_lost(error):
                raise
        # Every later statement of this block runs on the fresh connection too.
        discard(self.raw)
        self.replacement = self.raw = await self._retry()
        return await getattr(self.raw, method)(query.sql, *args)

    async def _search(self, method: str, query: Query, args: list[Any], seconds: float) -> Any:
        """A search, stopped after `seconds`: asyncpg cancels it on the server, the
        connection stays usable, and the caller hears why (UNAVAILABLE, in words)."""
        try:
            return await getattr(self.raw, method)(query.sql, *args, timeout=seconds)
        except TimeoutError:
            raise search_took_too_long(seconds) from None

    async def rows(self, query: Query, **params: Any) -> list[asyncpg.Record]:
        result: list[asyncpg.Record] = await self._run("fetch", query, params)
        return result

    async def row(self, query: Query, **params: Any) -> asyncpg.Record | None:
        result: asyncpg.Record | None = await self._run("fetchrow", query, params)
        return result

    async def value(self, query: Query, **params: Any) -> Any:
        return await self._run("fetchval", query, params)

    async def execute(self, query: Query, **params: Any) -> str:
        status: str = await self._run("execute", query, params)
        return status

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> str:
        """Rows written with COPY (binary): for a large batch, a third of an INSERT's CPU
        here (tandem/persistence/requests/repository.py says where it is used)."""
        for observe in self._observers:
            observe(f"COPY {table}")
        status: str = await self.raw.copy_records_to_table(table, records=rows, columns=columns)
        return status


def settable(table: Any, names: Sequence[str]) -> dict[str, Any]:
    """`column: bindparam` pairs for an INSERT or UPDATE of `names` (given as `v_<name>`)."""
    return {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}


def as_params(given: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that go with `settable(...)`."""
    return {f"v_{name}": value for name, value in given.items()}
