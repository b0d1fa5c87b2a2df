"""Real `tandem worker` processes sharing one queue: killed mid-delivery, and two at once."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import make_account, make_item
from tests.webhooks.helpers import register
from tests.webhooks.receiver import HANG, Receiver, running

ROOT = Path(__file__).resolve().parents[2]


def start_worker(settings, tmp_path: Path, name: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "DATA_DIR": str(tmp_path / "data"),
        "WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2",
        "WORKER_POLL_SECONDS": "0.5",
        "LOG_LEVEL": "warning",
        **env,
    }
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (the process owns it)
    return subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", "worker"],
        env=environment,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def listening(services, count: int, within: float = 60.0) -> None:
    """Wait until `count` workers hold their LISTEN connection (so they are up)."""
    async with asyncio.timeout(within):
        while True:
            async with services.database.reader() as uow:
                found = await uow.connection.raw.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'tandem-listen' AND datname = current_database()"
                )
            if found >= count:
                return
            await asyncio.sleep(0.1)


async def all_settled(services, expected: int, within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        while True:
            async with services.database.reader() as uow:
                done = await uow.connection.raw.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE status <> 'pending'"
                )
            if done >= expected:
                return
            await asyncio.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_a_worker_killed_mid_delivery_leaves_it_to_the_next(
    services, client, settings, tmp_path
):
    lease = {"WEBHOOK_TIMEOUT_SECONDS": "2", "WEBHOOK_LEASE_SECONDS": "3"}
    async with running(Receiver(plan=[HANG])) as receiver:
        owner = await make_account(services, client)
        hook = await register(client, owner, receiver.url)
        first = start_worker(settings, tmp_path, "first", **lease)
        second = None
        try:
            await listening(services, 1)
            await make_item(client, owner)
            await receiver.wait_for(1, within=30)  # the first worker is mid-delivery
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            second = start_worker(settings, tmp_path, "second", **lease)
            await receiver.wait_for(2, within=30)
            await all_settled(services, 1)
        finally:
            stop(first)
            if second is not None:
                stop(second)
    assert receiver.ids()[0] == receiver.ids()[1]
    log = (
        await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers)
    ).json()["items"]
    (delivery,) = log
    assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 2
    # The killed worker's attempt was written before it sent, so the log shows it, cut short.
    first_attempt, second_attempt = delivery["attempts"]
    assert (first_attempt["number"], first_attempt["status_code"]) == (1, None)
    assert first_attempt["error"].startswith("no outcome: the worker stopped")
    assert (second_attempt["number"], second_attempt["status_code"]) == (2, 200)


@pytest.mark.parametrize("events", [200])
async def test_two_workers_deliver_each_event_exactly_once(
    services, client, settings, tmp_path, events
):
    async with running(Receiver()) as receiver:
        owner = await make_account(services, client)
        await register(client, owner, receiver.url)
        workers = [start_worker(settings, tmp_path, f"worker{n}") for n in (1, 2)]
        try:
            await listening(services, 2)
            for _ in range(events):
                await make_item(client, owner)
            await receiver.wait_for(events, within=60)
            await all_settled(services, events)
            await asyncio.sleep(1.0)  # time for any duplicate to show up
        finally:
            for worker in workers:
                stop(worker)
        assert all(worker.returncode == 0 for worker in workers)  # SIGTERM: a clean exit
    counts = collections.Counter(receiver.ids())
    assert len(counts) == events
    assert set(counts.values()) == {1}
