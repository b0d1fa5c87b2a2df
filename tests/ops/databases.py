"""Scratch databases on the suite's PostgreSQL server, beside the suite's own database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.engine import make_url


def _connect_kwargs(url: str, database: str) -> dict[str, object]:
    parsed = make_url(url)
    return {
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.query.get("host", parsed.host),
        "port": parsed.port,
        "database": database,
    }


def with_database(url: str, database: str) -> str:
    """`url` with its database name replaced."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(**_connect_kwargs(url, "postgres"))  # type: ignore[arg-type]
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_database(url: str, prefix: str) -> Iterator[str]:
    """A fresh, empty database on `url`'s server (dropped afterwards); yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(url, name)
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fetchval(url: str, query: str) -> object:
    """One value from `url`'s database, on a connection of its own."""

    async def run() -> object:
        parsed = make_url(url)
        connection = await asyncpg.connect(**_connect_kwargs(url, parsed.database or ""))  # type: ignore[arg-type]
        try:
            return await connection.fetchval(query)
        finally:
            await connection.close()

    return asyncio.run(run())
