"""Alembic environment: runs migrations over the async engine, or renders their SQL offline."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tandem.persistence.models import Base
from tandem.persistence.restored import check_transaction_ids

target_metadata = Base.metadata

# Every process that starts (the migration Job, each API pod, each worker) migrates, often at
# the same moment; Alembic takes no lock, so two would create the same table and one would
# crash. A transaction-scoped advisory lock serialises them (the later ones then find the
# schema at head and do nothing) and, unlike a session lock, is safe behind PgBouncer in
# transaction mode. A migration that leaves the transaction (autocommit_block) releases it
# early: write such a step so that running it twice is harmless (IF NOT EXISTS).
MIGRATION_LOCK = 0x74616E64656D  # "tandem"
# DDL that waits for a lock queues every request behind it: give up after this instead
# (docs/deploy.md, "Migrations with no downtime"); the Job, or the pod, retries. Taken after
# the advisory lock, which may rightly wait for another process's whole migration.
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '3s'"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.execute(text(LOCK_TIMEOUT))
        context.run_migrations()
        check_transaction_ids(connection)


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by tandem.persistence.migrate"
    asyncio.run(_run_async(url))


def run_migrations_offline() -> None:
    """Print the migrations' SQL as they would run (`migrate.render_sql`), for linting."""
    context.configure(
        dialect_name="postgresql", target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.execute(LOCK_TIMEOUT)
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
