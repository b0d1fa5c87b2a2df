"""Fair deliveries on real `tandem worker` processes and real receivers.

A hanging endpoint holds only its own share of deliveries in flight; a receiver
that comes back gets its backlog at once; a stale keep-alive connection costs no
backoff step.
"""

from __future__ import annotations

import asyncio
import time

from tests.factories import make_account, make_item
from tests.webhooks.helpers import register
from tests.webhooks.receiver import HANG, Receiver, ResettingReceiver, resetting, running
from tests.webhooks.test_worker_processes import listening, start_worker, stop


async def _count(services, sql: str) -> int:
    async with services.database.reader() as uow:
        return int(await uow.connection.raw.fetchval(sql))


async def _until(services, sql: str, expected: int, within: float) -> None:
    async with asyncio.timeout(within):
        while await _count(services, sql) < expected:  # noqa: ASYNC110 (polling the database)
            await asyncio.sleep(0.05)


async def test_a_hanging_endpoint_leaves_a_healthy_one_all_its_deliveries(
    services, client, settings, tmp_path
):
    items = 40
    env = {
        "WEBHOOK_TIMEOUT_SECONDS": "60",  # far longer than the test waits
        "WEBHOOK_LEASE_SECONDS": "120",
        "WEBHOOK_CONCURRENCY": "16",
        "WEBHOOK_ENDPOINT_CONCURRENCY": "4",
    }
    async with (
        running(Receiver(plan=[HANG] * 1000)) as hanging,
        running(Receiver()) as healthy,
    ):
        owner = await make_account(services, client)
        await register(client, owner, hanging.url)
        await register(client, owner, healthy.url)
        worker = start_worker(settings, tmp_path, "fair", **env)
        try:
            await listening(services, 1)
            started = time.perf_counter()
            for _ in range(items):
                await make_item(client, owner)
            await healthy.wait_for(items, within=30)
            took = time.perf_counter() - started
            await asyncio.sleep(0.5)  # time for the hanging endpoint to take more, if it could
            in_flight_at_hanging = len(hanging.requests)
        finally:
            hanging.release()
            stop(worker)
    print(f"healthy endpoint: {items} deliveries in {took:.2f} s beside a hanging one")
    assert len(set(healthy.ids())) == items
    assert in_flight_at_hanging == 4  # its own share, never the worker's 16


async def test_a_receiver_that_recovers_gets_its_waiting_retries_at_once(
    services, client, settings, tmp_path
):
    items = 8
    env = {
        "WEBHOOK_TIMEOUT_SECONDS": "1",
        "WEBHOOK_LEASE_SECONDS": "5",
        "WEBHOOK_RETRY_SCHEDULE": "60s",  # the backoff a recovery must not wait out
        "WEBHOOK_ENDPOINT_CONCURRENCY": "2",
    }
    failed = "SELECT count(*) FROM webhook_attempts WHERE error LIKE 'no complete answer%'"
    succeeded = "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
    async with running(Receiver(plan=[HANG] * 1000)) as receiver:
        owner = await make_account(services, client)
        await register(client, owner, receiver.url)
        worker = start_worker(settings, tmp_path, "recover", **env)
        try:
            await listening(services, 1)
            for _ in range(items):
                await make_item(client, owner)
            await _until(services, failed, 2, within=30)  # some now wait out 60 s
            receiver.release()  # the receiver is back: hung requests and new ones get 200
            recovered = time.perf_counter()
            await _until(services, succeeded, items, within=20)
            took = time.perf_counter() - recovered
        finally:
            receiver.release()
            stop(worker)
    print(f"all {items} delivered {took:.2f} s after the receiver recovered")
    assert len(set(receiver.ids())) == items


async def test_a_stale_pooled_connection_is_tried_again_at_once(
    services, client, settings, tmp_path
):
    env = {"WEBHOOK_RETRY_SCHEDULE": "60s", "WEBHOOK_TIMEOUT_SECONDS": "5"}
    async with resetting(ResettingReceiver()) as receiver:
        owner = await make_account(services, client)
        hook = await register(client, owner, receiver.url)
        worker = start_worker(settings, tmp_path, "stale", **env)
        try:
            await listening(services, 1)
            await make_item(client, owner)
            done = "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
            await _until(services, done, 1, within=30)  # a kept-alive connection in the pool
            await make_item(client, owner)  # goes on that connection, which is reset
            await _until(services, done, 2, within=20)
        finally:
            stop(worker)
    assert receiver.resets >= 1 and len(receiver.answered) == 2
    log = (
        await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers)
    ).json()["items"]
    assert [[(a["number"], a["status_code"]) for a in d["attempts"]] for d in log] == [
        [(1, 200)],
        [(1, 200)],
    ]
