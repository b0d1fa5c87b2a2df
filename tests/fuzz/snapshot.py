"""The database's state, kept once and put back before each stateful scenario.

Hypothesis draws a scenario's steps from what earlier steps answered (links: the id a
POST returned, the item a GET found). If a scenario starts from whatever the one before
left (an item deleted, a password changed, sessions ended), the same draws meet other
answers, and Hypothesis stops with `FlakyStrategyDefinition`. So every scenario starts
from the same rows and the same sequence values: the world the test built.

Runs on its own connection and event loop, in a thread: the scenarios run synchronously,
outside the suite's loop, and the app under fuzz has a pool of its own.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import asyncpg

from tandem.persistence.database import asyncpg_dsn

SCHEMA = "fuzz_snapshot"
TABLES = """
SELECT tablename FROM pg_tables
WHERE schemaname = 'public' AND tablename <> 'alembic_version' ORDER BY tablename
"""
COLUMNS = """
SELECT column_name FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER'
ORDER BY ordinal_position
"""
SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"


class Snapshot:
    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._columns: dict[str, str] = {}
        self._sequences: list[tuple[str, int | None]] = []

    def _run(self, work) -> None:  # type: ignore[no-untyped-def]
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, work()).result()

    def take(self) -> None:
        async def work() -> None:
            connection = await asyncpg.connect(self._dsn)
            try:
                async with connection.transaction():
                    await connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
                    await connection.execute(f"CREATE SCHEMA {SCHEMA}")
                    for (table,) in await connection.fetch(TABLES):
                        names = [row[0] for row in await connection.fetch(COLUMNS, table)]
                        columns = ", ".join(f'"{name}"' for name in names)
                        self._columns[table] = columns
                        copy = f'SELECT {columns} FROM public."{table}"'  # noqa: S608 (catalog names)
                        await connection.execute(f'CREATE TABLE {SCHEMA}."{table}" AS {copy}')
                    self._sequences = [
                        (row[0], row[1]) for row in await connection.fetch(SEQUENCES)
                    ]
            finally:
                await connection.close()

        self._run(work)

    def restore(self) -> None:
        async def work() -> None:
            connection = await asyncpg.connect(self._dsn)
            try:
                async with connection.transaction():
                    # Rows go back in any order: foreign keys and triggers wait.
                    await connection.execute("SET LOCAL session_replication_role = replica")
                    tables = ", ".join(f'public."{table}"' for table in self._columns)
                    await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
                    for table, columns in self._columns.items():
                        kept = f'SELECT {columns} FROM {SCHEMA}."{table}"'  # noqa: S608 (catalog names)
                        await connection.execute(
                            f'INSERT INTO public."{table}" ({columns}) OVERRIDING SYSTEM VALUE {kept}'
                        )
                    for sequence, last_value in self._sequences:
                        if last_value is not None:
                            await connection.execute(
                                "SELECT setval($1::regclass, $2)",
                                f'public."{sequence}"',
                                last_value,
                            )
            finally:
                await connection.close()

        self._run(work)

    def drop(self) -> None:
        async def work() -> None:
            connection = await asyncpg.connect(self._dsn)
            try:
                await connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            finally:
                await connection.close()

        self._run(work)
