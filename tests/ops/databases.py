"""Scratch databases on the suite's PostgreSQL server, beside the suite's own database."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
from sqlalchemy.engine import make_url


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    """A plain asyncpg connection to `url`'s server (its database, or `database`)."""
    parsed = make_url(url)
    host = parsed.query.get("host", parsed.host)
    return await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=host if isinstance(host, str) or host is None else host[0],
        port=parsed.port,
        database=database or parsed.database,
    )


def with_database(url: str, database: str) -> str:
    """`url` with its database name replaced."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    connection = await connect(url, "postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def new_database(url: str, prefix: str) -> AsyncIterator[str]:
    """A fresh, empty database on `url`'s server (dropped afterwards); yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scratch_database(url: str, prefix: str) -> Iterator[str]:
    """`new_database` for a test that runs no event loop of its own."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(url, name)
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def fetchval(url: str, query: str) -> object:
    """One value from `url`'s database, on a connection of its own."""
    connection = await connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()
