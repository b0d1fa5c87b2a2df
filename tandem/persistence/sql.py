"""Statements built with SQLAlchemy, compiled once per shape, run on asyncpg directly.

SQLAlchemy builds every statement (so `visible_to` and the other builders stay
composable and typed) and compiles it once for its shape: every value that
varies is a named `bindparam`, so one compiled text serves every call.
Execution goes straight to asyncpg: measured here, SQLAlchemy's execution layer
cost several times the statement's own round trip (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.sql import ClauseElement

import tandem.persistence.models  # noqa: F401  (every mapper configured before compiling)

_DIALECT = AsyncpgDialect()  # type: ignore[no-untyped-call]

Observer = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled statement: its SQL text, its parameters in order, and their constant values."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments; a named parameter left out raises KeyError, never NULL."""
        return [params[name] if name in params else self.constants[name] for name in self.names]


def compile_query(statement: ClauseElement) -> Query:
    """Compile once; bindparams without a value must be given at every call."""
    compiled: Any = statement.compile(dialect=_DIALECT)  # a SQLCompiler: it has positiontup
    constants = {
        name: value
        for name, value in compiled.params.items()
        if not _bind_named(compiled, name).required
    }
    return Query(compiled.string, tuple(compiled.positiontup or ()), constants)


def _bind_named(compiled: Any, name: str) -> Any:
    for bind, bind_name in compiled.bind_names.items():
        if bind_name == name:
            return bind
    raise KeyError(name)


class Connection:
    """One pooled asyncpg connection that runs compiled queries and reports each statement."""

    __slots__ = ("_observers", "raw")

    def __init__(self, raw: asyncpg.Connection, observers: Sequence[Observer]) -> None:
        self.raw = raw
        self._observers = observers

    def _args(self, query: Query, params: Mapping[str, Any]) -> list[Any]:
        for observe in self._observers:
            observe(query.sql)
        return query.args(params)

    async def rows(self, query: Query, **params: Any) -> list[asyncpg.Record]:
        result: list[asyncpg.Record] = await self.raw.fetch(query.sql, *self._args(query, params))
        return result

    async def row(self, query: Query, **params: Any) -> asyncpg.Record | None:
        result: asyncpg.Record | None = await self.raw.fetchrow(
            query.sql, *self._args(query, params)
        )
        return result

    async def value(self, query: Query, **params: Any) -> Any:
        return await self.raw.fetchval(query.sql, *self._args(query, params))

    async def execute(self, query: Query, **params: Any) -> str:
        status: str = await self.raw.execute(query.sql, *self._args(query, params))
        return status


def settable(table: Any, names: Sequence[str]) -> dict[str, Any]:
    """`column: bindparam` pairs for an INSERT or UPDATE of `names` (given as `v_<name>`)."""
    return {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}


def as_params(given: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that go with `settable(...)`."""
    return {f"v_{name}": value for name, value in given.items()}
