"""Pooled connections: never one shared by two operations at once, none held while a request waits."""

from __future__ import annotations

import asyncio
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
