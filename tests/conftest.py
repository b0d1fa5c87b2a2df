"""The test harness: a real PostgreSQL, migrated once per run, emptied after every test.

By default the embedded server under ./.tandem/ hosts a fresh database of this
run's own (`tandem_test_<pid>`, dropped at the end, so two runs never meet);
TEST_DATABASE_URL points the suite at another server instead (its
`public` schema is dropped and rebuilt, so never point it at data you want).

Isolation is by TRUNCATE after each test, not by an outer rolled-back
transaction: the app borrows its own pooled connections (GraphQL loaders run
concurrently, each on its own), so a test sees exactly what production does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.domain.services import Services
from tandem.persistence import migrate
from tandem.persistence.counters import MemoryCounters
from tandem.persistence.database import Database

# Every table the migrations made, but Alembic's own: a new feature's tables are emptied too.
_TABLES = """
SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables
WHERE schemaname = 'public' AND tablename <> 'alembic_version'
"""


async def _reset_schema(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = Settings(database_url=url).database_url
        assert url is not None
        asyncio.run(_reset_schema(url))
        migrate.upgrade(url)
        yield url
        return
    from tandem.persistence import embedded

    server = embedded.start(Path(__file__).resolve().parent.parent / ".tandem")
    name = f"tandem_test_{os.getpid()}"
    url = server.ensure_database(name, fresh=True)
    migrate.upgrade(url)
    yield url
    server.drop_database(name)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        data_dir=tmp_path_factory.mktemp("tandem-data"),
        # The cheapest Argon2id the library allows: the suite hashes hundreds of passwords.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        # Recovery answers at a fixed moment (0.25 s by default); the fuzzers ask often.
        password_recovery_answer_seconds=0.01,
        # Every test client registers from one address: mail tests make dozens of accounts.
        welcome_mail_max_per_address=100_000,
    )


@pytest.fixture(scope="session")
def counters() -> MemoryCounters:
    return MemoryCounters()


@pytest.fixture(scope="session")
async def services(settings: Settings, counters: MemoryCounters) -> AsyncIterator[Services]:
    assert settings.database_url is not None
    database = Database(settings.database_url, pool_size=10)
    yield services_for(settings, database, counters=counters)
    await database.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services=services)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def empty_tables(services: Services) -> None:
    """Empty every table and restart its ids.

    TRUNCATE waits for every other session's lock on the tables: a test's server or
    subscription still finishing a statement may hold one for a moment on a loaded
    machine, past the pool's 3 s `lock_timeout`, so the teardown waits longer. The
    pool's `statement_timeout` (10 s) counts that wait too, so it is raised with it.
    """
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute("SET LOCAL lock_timeout = '60s'")
        await uow.connection.raw.execute("SET LOCAL statement_timeout = '60s'")
        tables = await uow.connection.raw.fetchval(_TABLES)
        await uow.connection.raw.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(autouse=True)
async def _empty_tables(services: Services, counters: MemoryCounters) -> AsyncIterator[None]:
    yield
    counters.clear()
    await empty_tables(services)
