"""Pooled connections: never one shared by two operations at once, none held while a request waits."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tandem.domain.services import Services
from tests.factories import make_account, make_item


async def backend_pid(services: Services) -> int:
    async with services.database.reader() as uow:
        pid: int = await uow.connection.raw.fetchval("SELECT pg_backend_pid()")
        return pid


async def test_overlapping_blocks_never_share_a_connection(services):
    async with services.database.reader() as outer:
        outer_pid = await outer.connection.raw.fetchval("SELECT pg_backend_pid()")
        inner_pid = await backend_pid(services)
    concurrent = await asyncio.gather(*(backend_pid(services) for _ in range(5)))
    assert inner_pid != outer_pid
    assert len(set(concurrent)) == 5


async def test_a_failed_write_leaves_the_connection_usable(services, client):
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


class CountedAcquisitions:
    """Counts the pool acquisitions of `database` (its `acquire`, the fair gate's one door)."""

    def __init__(self, database: Any, monkeypatch: Any) -> None:
        self.count = 0
        acquire = database.acquire

        async def counted() -> Any:
            self.count += 1
            return await acquire()

        monkeypatch.setattr(database, "acquire", counted)


async def test_a_rest_read_takes_one_connection_for_the_caller_and_the_item(
    services, client, monkeypatch
):
    account = await make_account(services, client)
    item = await make_item(client, account)
    pool = await services.database.pool()
    acquisitions = CountedAcquisitions(services.database, monkeypatch)
    read = await client.get(f"/api/v1/items/{item['id']}", headers=account.headers)
    listed = await client.get("/api/v1/items?size=50", headers=account.headers)
    assert (read.status_code, listed.status_code) == (200, 200)
    # Two requests: the caller's lookup and the item (or the page and its count) on one each.
    assert acquisitions.count == 2
    assert await all_back(pool)


async def test_a_session_lends_its_connection_to_every_task_of_it_in_turn(services):
    database = services.database
    pool = await database.pool()
    async with database.session():
        first = await backend_pid(services)
        again = await backend_pid(services)
        async with database.reader() as outer:  # held: a block inside borrows its own
            outer_pid = await outer.connection.raw.fetchval("SELECT pg_backend_pid()")
            inner = await backend_pid(services)
        other_task = await asyncio.create_task(backend_pid(services))
        assert pool.get_size() - pool.get_idle_size() == 1  # the session's, parked
    assert first == again == outer_pid == other_task
    assert inner != first
    assert await all_back(pool)


async def test_another_tasks_block_waits_for_the_holders_block_to_end(services):
    database = services.database
    order: list[str] = []

    async def later() -> int:
        async with database.reader() as uow:
            order.append("later")
            pid: int = await uow.connection.raw.fetchval("SELECT pg_backend_pid()")
            return pid

    async with database.session():
        async with database.reader() as uow:
            waiting = asyncio.create_task(later())
            await asyncio.sleep(0.05)  # its turn has not come: it waits, borrowing nothing
            assert not waiting.done()
            pool = await database.pool()
            assert pool.get_size() - pool.get_idle_size() == 1
            holder = await uow.connection.raw.fetchval("SELECT pg_backend_pid()")
            order.append("holder")
        assert await asyncio.wait_for(waiting, 2) == holder
    assert order == ["holder", "later"]
    assert await all_back(pool)


async def test_a_cancelled_waiter_hands_the_turn_on(services):
    database = services.database
    pool = await database.pool()
    async with database.session():
        async with database.reader():
            cancelled = asyncio.create_task(backend_pid(services))
            served = asyncio.create_task(backend_pid(services))
            await asyncio.sleep(0.02)
            cancelled.cancel()
            await asyncio.sleep(0.02)
        assert await asyncio.wait_for(served, 2) > 0
        assert cancelled.cancelled()
        assert await asyncio.wait_for(backend_pid(services), 2) == await served
    assert await all_back(pool)


async def test_a_task_that_outlives_its_session_borrows_from_the_pool(services):
    database = services.database
    pool = await database.pool()
    go = asyncio.Event()

    async def after_the_session() -> int:
        await go.wait()
        return await backend_pid(services)

    async with database.session():
        session_pid = await backend_pid(services)
        outliving = asyncio.create_task(after_the_session())
    assert await all_back(pool)  # the session's connection went back when it ended
    go.set()
    assert await outliving > 0
    assert await all_back(pool)  # and the late task's went back too: nothing leaked
    assert session_pid > 0


async def test_a_session_that_ends_during_another_tasks_block_gives_the_connection_back_after_it(
    services,
):
    database = services.database
    pool = await database.pool()
    inside = asyncio.Event()
    finish = asyncio.Event()

    async def long_block() -> int:
        async with database.reader() as uow:
            inside.set()
            await finish.wait()
            pid: int = await uow.connection.raw.fetchval("SELECT pg_backend_pid()")
            return pid

    async with database.session():
        held = asyncio.create_task(long_block())
        await inside.wait()
        queued = asyncio.create_task(backend_pid(services))  # waits for long_block's turn
        await asyncio.sleep(0.02)
    assert pool.get_size() - pool.get_idle_size() == 1  # still in long_block's hands
    finish.set()
    held_pid = await asyncio.wait_for(held, 2)
    assert await asyncio.wait_for(queued, 2) > 0  # the session had ended: it borrowed from the pool
    assert held_pid > 0
    assert await all_back(pool)


async def test_a_failed_block_gives_the_sessions_connection_back(services):
    database = services.database
    pool = await database.pool()
    async with database.session():
        try:
            async with database.reader() as uow:
                await uow.connection.raw.fetchval("SELECT 1/0")
        except Exception as error:  # asyncpg's DivisionByZeroError
            assert "division by zero" in str(error)
        assert pool.get_idle_size() == pool.get_size()  # back already, not parked
        assert await backend_pid(services) > 0  # the next block borrows afresh
    assert await all_back(pool)


async def test_a_block_cancelled_mid_statement_leaves_the_pool_usable(services):
    database = services.database
    pool = await database.pool()

    async def sleeper() -> None:
        async with database.reader() as uow:
            await uow.connection.raw.execute("SELECT pg_sleep(5)")

    for _ in range(3):  # the pool, as many times over as it may hand the same one out
        running = asyncio.create_task(sleeper())
        await asyncio.sleep(0.1)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert await all_back(pool)
    started = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(backend_pid(services), 2) > 0  # not stuck behind a cancel
    assert asyncio.get_running_loop().time() - started < 1
    assert await all_back(pool)
