"""The migrations build exactly the schema the models describe, and re-running them is harmless."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tandem.persistence import migrate
from tandem.persistence.models import Base
from tests.factories import make_user


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_matches_the_models(database_url):
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == [], "the models and the migrations disagree; write a migration:\n" + "\n".join(
        map(str, diff)
    )


def _model_checks() -> set[tuple[str, str]]:
    """Each table's check constraints as the models name them (after the naming convention)."""
    return {
        (table.name, str(constraint.name))
        for table in Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


async def test_the_migrated_check_constraints_are_the_models(database_url):
    """Alembic's comparison skips check constraints, so they are compared here by name: a
    rule the migration adds and the model forgets (or the other way) fails this test."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c"
                " JOIN pg_namespace n ON n.oid = c.connamespace"
                " WHERE c.contype = 'c' AND n.nspname = current_schema()"
            )
            migrated = {(table, name) for table, name in rows}
    finally:
        await engine.dispose()
    models = _model_checks()
    assert migrated == models, (
        f"only in the migrations: {sorted(migrated - models)}; "
        f"only in the models: {sorted(models - migrated)}"
    )


async def test_the_database_is_at_the_newest_revision(services):
    async with services.database.reader() as uow:
        versions = await uow.connection.raw.fetch("SELECT version_num FROM alembic_version")
        assert [row[0] for row in versions] == [migrate.head_revision()]


async def test_upgrading_twice_is_harmless(services, database_url, client):
    user = await make_user(services)
    # Alembic runs its own event loop; give it a thread of its own, as `tandem migrate` would.
    await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(migrate.upgrade, database_url)

    async with services.database.reader() as uow:
        versions = await uow.connection.raw.fetch("SELECT version_num FROM alembic_version")
        assert [row[0] for row in versions] == [migrate.head_revision()]
        assert await uow.users.get(user.id) == user
    assert (await client.get("/readyz")).status_code == 200


def _scratch_database(name: str) -> tuple[object, str]:
    from pathlib import Path

    from tandem.persistence import embedded

    server = embedded.start(Path(__file__).resolve().parents[2] / ".tandem")
    return server, server.ensure_database(name, fresh=True)


def _upgrade_to(url: str, revision: str) -> None:
    from alembic import command

    command.upgrade(migrate.alembic_config(url), revision)


async def _emails_after_normalising(url: str, emails: list[str]) -> list[str]:
    import asyncpg

    from tandem.persistence.database import asyncpg_dsn

    await asyncio.to_thread(_upgrade_to, url, "0012_fair_deliveries")
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.executemany(
            "INSERT INTO users (email, name, password_hash) VALUES ($1, 'A', 'x')",
            [(email,) for email in emails],
        )
        await asyncio.to_thread(migrate.upgrade, url)
        rows = await connection.fetch("SELECT email FROM users ORDER BY id")
        return [row["email"] for row in rows]
    finally:
        await connection.close()


async def test_the_email_migration_stores_every_email_normalised():
    server, url = await asyncio.to_thread(_scratch_database, "tandem_test_emails_migration")
    try:
        emails = await _emails_after_normalising(
            url, ["Ada@Example.COM", " bob@example.org", "vİctim@example.com"]
        )
    finally:
        await asyncio.to_thread(server.drop_database, "tandem_test_emails_migration")  # type: ignore[attr-defined]
    assert emails == [
        "ada@example.com",
        "bob@example.org",
        "vi\u0307ctim@example.com",  # PostgreSQL's lower() had made it victim@example.com
    ]


async def test_the_email_migration_stops_where_two_accounts_would_share_an_email():
    import pytest

    server, url = await asyncio.to_thread(_scratch_database, "tandem_test_emails_clash")
    try:
        with pytest.raises(RuntimeError, match=r"would share the email 'strasse@example\.com'"):
            await _emails_after_normalising(url, ["straße@example.com", "strasse@example.com"])
    finally:
        await asyncio.to_thread(server.drop_database, "tandem_test_emails_clash")  # type: ignore[attr-defined]
