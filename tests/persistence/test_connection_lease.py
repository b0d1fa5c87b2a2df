"""One pooled connection per request for sequential work; never one connection shared at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tandem.app import create_app
from tandem.config import Settings
from tandem.domain.services import Services
from tandem.persistence.lease import Lease
from tests.factories import make_account, make_item


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the lease on (DB_CONNECTION_LEASE is off by default)."""
    app = create_app(settings.model_copy(update={"db_connection_lease": True}), services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@contextmanager
def counting_acquires(pool: Any) -> Iterator[list[int]]:
    """Count the pool's acquires (both `await pool.acquire()` and `async with`)."""
    calls: list[int] = []
    pool_class = type(pool)
    original = pool_class.acquire

    def acquire(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self is pool:
            calls.append(1)
        return original(self, *args, **kwargs)

    pool_class.acquire = acquire
    try:
        yield calls
    finally:
        pool_class.acquire = original


async def backend_pid(services: Services) -> int:
    async with services.database.reader() as uow:
        pid: int = await uow.connection.raw.fetchval("SELECT pg_backend_pid()")
        return pid


async def test_sequential_blocks_in_a_lease_share_one_connection(services):
    lease = Lease.open()
    try:
        first = await backend_pid(services)
        async with services.database.transaction() as uow:
            in_transaction = await uow.connection.raw.fetchval("SELECT pg_backend_pid()")
        second = await backend_pid(services)
    finally:
        await lease.close()
    assert first == in_transaction == second


async def test_overlapping_blocks_in_a_lease_never_share_a_connection(services):
    lease = Lease.open()
    try:
        async with services.database.reader() as outer:
            outer_pid = await outer.connection.raw.fetchval("SELECT pg_backend_pid()")
            inner_pid = await backend_pid(services)
        concurrent = await asyncio.gather(*(backend_pid(services) for _ in range(5)))
    finally:
        await lease.close()
    assert inner_pid != outer_pid
    # Five at once: one may hold the lease's connection, the others borrow their own.
    assert len(set(concurrent)) == 5


class SlowPool:
    """A pool whose acquire always waits, as asyncpg's does when it must open a connection."""

    def __init__(self) -> None:
        self.acquired: list[object] = []
        self.released: list[object] = []

    async def acquire(self) -> object:
        await asyncio.sleep(0.01)
        connection = object()
        self.acquired.append(connection)
        return connection

    async def release(self, connection: object) -> None:
        self.released.append(connection)


async def test_only_the_task_that_opened_the_lease_takes_it():
    pool = SlowPool()
    lease = Lease.open()
    try:
        # Other tasks (DataLoader batches, a batch's operations) may outlive the request.
        from_other_tasks = await asyncio.gather(*(lease.take(pool) for _ in range(5)))  # type: ignore[arg-type]
        own = await lease.take(pool)  # type: ignore[arg-type]
        lease.give_back()
    finally:
        await lease.close()
    assert from_other_tasks == [None] * 5
    assert own is not None
    assert pool.acquired == [own]
    assert pool.released == [own]


async def test_a_closed_lease_lends_nothing():
    pool = SlowPool()
    lease = Lease.open()
    await lease.close()
    assert await lease.take(pool) is None  # type: ignore[arg-type]
    assert pool.acquired == []


async def test_a_connection_goes_back_as_soon_as_the_request_waits(services):
    pool = await services.database.pool()
    lease = Lease.open()
    try:
        with counting_acquires(pool) as acquires:
            await backend_pid(services)
            idle_while_parked = pool.get_idle_size()
            await asyncio.sleep(0.01)  # the request waits: on a body, a hash, another service
            idle_while_waiting = pool.get_idle_size()
            await backend_pid(services)
    finally:
        await lease.close()
    assert idle_while_waiting == idle_while_parked + 1
    assert len(acquires) == 2


async def test_a_closed_lease_gives_its_connection_back(services):
    pool = await services.database.pool()
    idle_before = pool.get_idle_size()
    lease = Lease.open()
    await backend_pid(services)
    assert pool.get_idle_size() == idle_before - 1 or idle_before == 0
    await lease.close()
    assert pool.get_idle_size() >= max(idle_before, 1)
    # Out of the lease, each block borrows from the pool again.
    with counting_acquires(pool) as acquires:
        await backend_pid(services)
        await backend_pid(services)
    assert len(acquires) == 2


async def test_a_rest_read_borrows_one_connection_for_the_guard_and_the_read(services, client):
    account = await make_account(services, client)
    item = await make_item(client, account)
    pool = await services.database.pool()
    with counting_acquires(pool) as acquires:
        response = await client.get(f"/api/v1/items/{item['id']}", headers=account.headers)
    assert response.status_code == 200
    assert len(acquires) == 1


async def test_a_failed_write_in_a_lease_leaves_the_connection_usable(services, client):
    account = await make_account(services, client)
    item = await make_item(client, account)
    stale = {"If-Match": f'"item-{item["id"]}-v99"', **account.headers}
    refused = await client.patch(f"/api/v1/items/{item['id']}", json={"title": "x"}, headers=stale)
    assert refused.status_code == 412
    again = await client.get(f"/api/v1/items/{item['id']}", headers=account.headers)
    assert again.status_code == 200
    assert again.json()["title"] == item["title"]


async def all_back(pool: Any) -> bool:
    """Whether every connection the pool opened is idle again, once stray tasks are done."""
    for _ in range(50):
        if pool.get_idle_size() == pool.get_size():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_graphql_batch_that_fails_leaves_no_connection_behind(services, client):
    account = await make_account(services, client)
    await make_item(client, account)
    pool = await services.database.pool()
    # One operation fails at once; the other's loader batches run on in their own tasks.
    batch = [{"query": "{ me { name items(first: 2) { nodes { id } } } }"}, {"query": None}]
    for _ in range(3):
        response = await client.post("/graphql", json=batch, headers=account.headers)
        assert response.status_code == 400
    assert await all_back(pool)
    again = await client.post(
        "/graphql", json={"query": "{ me { name } }"}, headers=account.headers
    )
    assert again.json()["data"]["me"]["name"] == account.user.name


async def test_a_slow_request_body_holds_no_connection(services, client, app):
    account = await make_account(services, client)
    pool = await services.database.pool()
    arrived = asyncio.Event()
    body = b'{"query": "{ me { name } }"}'

    async def receive() -> dict[str, Any]:
        await arrived.wait()  # the client sends its headers, then stalls
        return {"type": "http.request", "body": body, "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {account.access_token}".encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    request = asyncio.create_task(app(scope, receive, send))
    await asyncio.sleep(0.1)  # the guard has looked the caller up; the body has not come
    assert pool.get_idle_size() == pool.get_size()
    arrived.set()
    await request
    assert sent[0]["status"] == 200
