"""The migrations build exactly the schema the models describe, and re-running them is harmless."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
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
