"""Read-your-writes positions on the suite's database (tandem/persistence/replicas.py).

A `RoutedDatabase` keeps, after each write of a known caller, the primary's WAL position
past that commit in `read_positions`; sign-ins and client tokens included. The real
replica, and reads landing on it, are in tests/ops/test_read_replicas.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.domain import reads
from tandem.domain.services import Services
from tandem.observability import metrics
from tandem.persistence.counters import MemoryCounters
from tandem.persistence.replicas import ReplicaConnection, RoutedDatabase
from tandem.persistence.sql import compile_query
from tests.factories import make_account
from tests.ops.databases import connect
from tests.ops.served import free_port
from tests.partners.helpers import make_client

BACKEND = compile_query(select(func.pg_backend_pid()))
POSITION = "SELECT lsn FROM read_positions WHERE user_id = $1"
INSERTED = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"


@pytest.fixture
async def routed(
    settings: Settings, counters: MemoryCounters
) -> AsyncIterator[tuple[Services, httpx.AsyncClient, RoutedDatabase]]:
    """Tandem over the suite's database with a "replica" nobody listens on."""
    assert settings.database_url is not None
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    database = RoutedDatabase(settings.database_url, replica_urls=[dead], max_lag=2.0, pool_size=4)
    services = services_for(settings, database, counters=counters)
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield services, client, database
    finally:
        reads.enabled = False  # the rest of the suite runs without replicas
        await database.dispose()


async def value(database: RoutedDatabase, sql: str, *args: Any) -> Any:
    async with database.transaction() as uow:  # outside a request: no route, nothing kept
        return await uow.connection.raw.fetchval(sql, *args)


async def test_each_write_keeps_its_callers_position_past_its_commit(routed) -> None:  # type: ignore[no-untyped-def]
    services, client, database = routed
    account = await make_account(services, client)  # the sign-in writes a token family
    signed_in = await value(database, POSITION, account.user.id)
    assert signed_in is not None

    before = await value(database, INSERTED)
    created = await client.post("/api/v1/items", json={"title": "x"}, headers=account.headers)
    assert created.status_code == 201
    after_write = await value(database, POSITION, account.user.id)
    assert before < after_write <= await value(database, INSERTED)

    # A read keeps nothing.
    read = await client.get(f"/api/v1/items/{created.json()['id']}", headers=account.headers)
    assert read.status_code == 200
    assert await value(database, POSITION, account.user.id) == after_write


async def test_a_partner_clients_write_keeps_the_position_of_the_user_it_acts_for(routed) -> None:  # type: ignore[no-untyped-def]
    services, client, database = routed
    account = await make_account(services, client)
    client_id, secret = await make_client(services, user_id=account.user.id)
    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    before = await value(database, POSITION, account.user.id)
    created = await client.post("/api/v1/items", json={"title": "x"}, headers=headers)
    assert created.status_code == 201, created.text
    assert await value(database, POSITION, account.user.id) > before


async def test_a_replica_that_cannot_be_reached_gives_its_reads_to_the_primary(  # type: ignore[no-untyped-def]
    routed, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, client, database = routed
    monkeypatch.setattr(database, "_watch", lambda: None)  # no measurement to find it first
    fallbacks = metrics.DB_ROUTED_READS.labels("primary", "fallback")
    account = await make_account(services, client)
    item = (await client.post("/api/v1/items", json={"title": "x"}, headers=account.headers)).json()
    other = await make_account(services, client)
    replica = database.replicas[0]
    # As if a measurement had just found it up and caught up: it went away since.
    replica.up, replica.lag, replica.replayed = True, 0.0, 2**62
    replica.measured_at = time.monotonic() + 3600
    fell_back = fallbacks._value.get()
    answer = await client.get(f"/api/v1/items/{item['id']}", headers=other.headers)
    assert answer.status_code == 200, answer.text
    assert fallbacks._value.get() == fell_back + 1  # the item read, tried there first
    assert not replica.up  # skipped from now on, until a measurement finds it again


async def test_a_read_that_fails_on_the_replica_mid_way_runs_again_on_the_primary(  # type: ignore[no-untyped-def]
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "replica" is the suite's own server here: its connection is killed between two
    statements of one read, so the second fails there and must run on the primary."""
    assert settings.database_url is not None
    database = RoutedDatabase(
        settings.database_url, replica_urls=[settings.database_url], max_lag=2.0, pool_size=2
    )
    monkeypatch.setattr(database, "_watch", lambda: None)
    replica = database.replicas[0]
    replica.up, replica.lag, replica.replayed = True, 0.0, 2**62
    replica.measured_at = time.monotonic() + 3600
    fallbacks = metrics.DB_ROUTED_READS.labels("primary", "fallback")
    killer = await connect(settings.database_url)
    opened = reads.open_route(read_only=True)
    route = reads.current()
    assert route is not None
    route.known = True  # as after the guard, for a caller with no write kept
    try:
        async with database.reader() as uow:
            assert isinstance(uow.connection, ReplicaConnection)
            first = await uow.connection.value(BACKEND)
            await killer.execute("SELECT pg_terminate_backend($1)", first)
            fell_back = fallbacks._value.get()
            second = await uow.connection.value(BACKEND)
            assert second != first  # a fresh connection, to the primary
            assert fallbacks._value.get() == fell_back + 1
        assert not replica.up  # its connection was lost: skipped until measured again
    finally:
        reads.close_route(opened)
        reads.enabled = False
        await killer.close()
        await database.dispose()
