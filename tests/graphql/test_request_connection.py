"""A GraphQL query over HTTP runs on one pooled connection: its caller's lookup, its resolvers
and its DataLoaders' batches (in tasks of their own) take turns on it. A request that may
run a mutation holds none while it waits on anything but the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tandem.app import create_app, services_for
from tandem.persistence.counters import MemoryCounters
from tandem.persistence.database import Database
from tests.factories import make_account, make_item
from tests.graphql.helpers import gql
from tests.persistence.test_pool_connections import CountedAcquisitions, all_back

# Each owner's items and their count come from DataLoaders, batched in tasks of their own.
WITH_LOADERS = """
query($n: Int!) {
  items(first: $n) {
    nodes { title owner { name items(first: 2) { totalCount nodes { title } } } }
  }
}
"""


async def _world(client: httpx.AsyncClient, services: Any, *, owners: int, items_each: int):
    accounts = [await make_account(services, client) for _ in range(owners)]
    for account in accounts:
        for _ in range(items_each):
            await make_item(client, account, price="1.00")
    return accounts


async def _until(condition: Callable[[], bool], asked: asyncio.Task[Any]) -> None:
    """Until `condition` holds, or the request has been answered (3 s at most)."""
    for _ in range(600):
        if asked.done() or condition():
            return
        await asyncio.sleep(0.005)


def _record_tasks(database: Database) -> set[asyncio.Task[Any] | None]:
    tasks: set[asyncio.Task[Any] | None] = set()
    database.observers.append(lambda _sql: tasks.add(asyncio.current_task()))
    return tasks


async def test_a_query_with_loaders_takes_one_connection(client, services, monkeypatch):
    accounts = await _world(client, services, owners=3, items_each=3)
    pool = await services.database.pool()
    tasks = _record_tasks(services.database)
    acquisitions = CountedAcquisitions(services.database, monkeypatch)
    try:
        body = await gql(client, WITH_LOADERS, {"n": 9}, headers=accounts[0].headers)
    finally:
        services.database.observers.pop()
    assert "errors" not in body, body
    nodes = body["data"]["items"]["nodes"]
    assert len(nodes) == 9
    assert all(node["owner"]["items"]["totalCount"] == 3 for node in nodes)
    assert len(tasks) >= 2  # the loaders' batches ran in tasks other than the request's
    # The caller's lookup, the page, the owners' items and their counts: one acquisition.
    assert acquisitions.count == 1
    assert await all_back(pool)


async def test_a_batch_of_queries_takes_one_connection(client, services, monkeypatch):
    accounts = await _world(client, services, owners=2, items_each=2)
    pool = await services.database.pool()
    acquisitions = CountedAcquisitions(services.database, monkeypatch)
    batch = [{"query": WITH_LOADERS, "variables": {"n": 4}}, {"query": "{ me { name } }"}]
    response = await client.post("/graphql", json=batch, headers=accounts[0].headers)
    assert response.status_code == 200
    first, second = response.json()
    assert len(first["data"]["items"]["nodes"]) == 4
    assert second["data"]["me"]["name"] == accounts[0].user.name
    assert acquisitions.count == 1  # two operations, each in its own task, one connection
    assert await all_back(pool)


async def test_concurrent_queries_with_loaders_do_not_starve_a_small_pool(
    client, services, settings
):
    accounts = await _world(client, services, owners=4, items_each=3)
    assert settings.database_url is not None
    # Two connections for 24 requests at once: a request that held one while its loaders
    # waited for another would leave every connection held and every loader waiting, and
    # each would end as UNAVAILABLE once the acquire timeout passed.
    database = Database(settings.database_url, pool_size=2, acquire_timeout=3.0)
    app = create_app(settings, services=services_for(settings, database, counters=MemoryCounters()))
    acquisitions = 0
    acquire = database.acquire

    async def counted() -> Any:
        nonlocal acquisitions
        acquisitions += 1
        return await acquire()

    database.acquire = counted  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            requests = [
                other.post(
                    "/graphql",
                    json={"query": WITH_LOADERS, "variables": {"n": 12}},
                    headers=accounts[n % len(accounts)].headers,
                )
                for n in range(24)
            ]
            responses = await asyncio.wait_for(asyncio.gather(*requests), 20)
        pool = await database.pool()
        assert await all_back(pool)
    finally:
        await database.dispose()
    assert [r.status_code for r in responses] == [200] * 24
    bodies = [r.json() for r in responses]
    assert [body.get("errors") for body in bodies] == [None] * 24
    assert all(len(body["data"]["items"]["nodes"]) == 12 for body in bodies)
    assert acquisitions == 24  # one each, the loaders' batches included


async def test_a_mutation_holds_no_connection_while_it_waits(client, services, settings):
    """A reset's request answers at a fixed moment: no connection waits with it."""
    account = await make_account(services, client)
    assert settings.database_url is not None
    slow = settings.model_copy(update={"password_recovery_answer_seconds": 1.5})
    database = Database(settings.database_url, pool_size=2)
    statements: list[str] = []
    database.observers.append(statements.append)
    app = create_app(slow, services=services_for(slow, database, counters=MemoryCounters()))
    mutation = "mutation($email: String!) { requestPasswordReset(email: $email) }"
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            asked = asyncio.create_task(
                other.post(
                    "/graphql",
                    json={"query": mutation, "variables": {"email": account.user.email}},
                    headers=account.headers,
                )
            )
            pool = await database.pool()
            # Its mail is queued; then its answer waits for the moment, holding nothing.
            await _until(lambda: any("mail_outbox" in sql for sql in statements), asked)
            await _until(lambda: pool.get_idle_size() == pool.get_size(), asked)
            assert not asked.done()  # every connection idle while it still waits
            response = await asked
    finally:
        await database.dispose()
    assert response.json()["data"] == {"requestPasswordReset": True}
    assert any("mail_outbox" in sql for sql in statements)
