"""One pooled connection per request for sequential work; never one connection shared at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tandem.domain.services import Services
from tandem.persistence.database import Lease
from tests.factories import make_account, make_item


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


async def test_blocks_that_start_together_take_the_lease_once():
    pool = SlowPool()
    lease = Lease.open()
    try:
        taken = await asyncio.gather(*(lease.take(pool) for _ in range(5)))  # type: ignore[arg-type]
    finally:
        await lease.close()
    # One block got the lease's connection; the others were told to use the pool.
    assert [connection is not None for connection in taken].count(True) == 1
    assert len(pool.acquired) == 1
    assert pool.released == pool.acquired


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
