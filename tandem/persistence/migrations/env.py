"""Alembic environment: runs migrations over the async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tandem.persistence.models import Base
from tandem.persistence.restored import check_transaction_ids

target_metadata = Base.metadata

# Every process that starts (the migration Job, each API pod, each worker) migrates, often at
# the same moment; Alembic takes no lock, so two would create the same table and one would
# crash. An advisory lock serialises them: the later ones then find the schema at head.
# It is a session lock on a connection of its own, outside any transaction: a lock held by
# the migration's transaction would be released half-way by an autocommit_block (CREATE
# INDEX CONCURRENTLY commits it), and one held by an open transaction on another connection
# would make that very CREATE INDEX CONCURRENTLY wait for it forever. A session lock must
# not go through PgBouncer in transaction mode (it would stay on one of its server
# connections): a process whose schema is already at head takes no lock at all, and
# `tandem migrate` should reach PostgreSQL directly (docs/deploy.md).
MIGRATION_LOCK = 0x74616E64656D  # "tandem"
LOCK_POLL_SECONDS = 0.25
GUARD = "tandem_migration_guard"  # marks the lock's connection (recorded_sql leaves it out)
# DDL that waits for a lock queues every request behind it: give up after this instead
# (docs/deploy.md, "Migrations with no downtime"); the Job, or the pod, retries.
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '3s'"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text(LOCK_TIMEOUT))
        context.run_migrations()
        check_transaction_ids(connection)


def _at_head(connection: Connection) -> bool:
    """Already migrated to this code's head (or past it, by a newer release)? Then no lock."""
    try:
        if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
            return False
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        script = context.script
        known = {revision.revision for revision in script.walk_revisions()}
        head = script.get_current_head()
        if current != head and (current is None or current in known):
            return False
        check_transaction_ids(connection)
        return True
    finally:
        connection.rollback()


async def _take_lock(guard: AsyncConnection) -> None:
    """The migration lock, tried every LOCK_POLL_SECONDS rather than waited for: a session
    waiting on a lock holds a snapshot, and the holder's CREATE INDEX CONCURRENTLY would
    wait for that snapshot in turn, forever."""
    while True:
        if await guard.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK}):
            return
        await asyncio.sleep(LOCK_POLL_SECONDS)


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as guard:
            await guard.execution_options(**{GUARD: True})
            if await guard.run_sync(_at_head):
                return
            await guard.execution_options(isolation_level="AUTOCOMMIT")
            await _take_lock(guard)
            try:
                async with engine.connect() as connection:
                    await connection.run_sync(_run)
            finally:
                await guard.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
                )
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by tandem.persistence.migrate"
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("Tandem's migrations run online only: use `tandem migrate`.")
run_migrations_online()
