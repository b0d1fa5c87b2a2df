"""SIGTERM on a real `tandem serve`: in-flight requests finish, then a clean exit (status 0)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.ops.served import Served, production_settings, serve

BODY = json.dumps(
    {"email": "drain@example.com", "name": "Drain", "password": "correct horse battery"}
).encode()


def start_slow_register(served: Served) -> socket.socket:
    """A registration whose body has only half arrived: a request in flight."""
    client = socket.create_connection(("127.0.0.1", served.port))
    client.sendall(
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n".encode()
        + BODY[:10]
    )
    return client


_IN_FLIGHT = re.compile(r"^tandem_http_requests_in_flight (\S+)$", re.MULTILINE)


def until_in_flight(served: Served, count: int, within: float = 60.0) -> None:
    """Wait until the server serves `count` requests, the scrape that asks included.

    The slow registration is in flight once its headers reached the app, which on a
    loaded machine may be well after they were sent: a SIGTERM before that would find
    no request to wait for.
    """
    token = production_settings()["METRICS_TOKEN"]
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    deadline = time.monotonic() + within
    while True:
        text = httpx.get(served.url + "/metrics", headers=headers, timeout=10).text
        found = _IN_FLIGHT.search(text)
        if found is not None and float(found.group(1)) >= count:
            return
        assert time.monotonic() < deadline, text
        time.sleep(0.05)


def read_status(client: socket.socket) -> int:
    client.settimeout(30)
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk
    return int(answer.split(b" ", 2)[1])


def assert_clean(served: Served) -> None:
    log = served.log()
    assert "Traceback" not in log
    assert '"level":"error"' not in log and '"level":"critical"' not in log


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_a_request_in_flight_finish(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    served = serve(database_url, tmp_path, workers=workers, TANDEM_ENV="production")
    client = start_slow_register(served)
    until_in_flight(served, 2)  # the server has the request (headers and part of the body)
    signalled = time.monotonic()
    served.process.send_signal(15)
    time.sleep(1.5)
    assert served.process.poll() is None  # still draining: the request is not done
    if workers == 1:  # the one process closed its socket: no new connection is accepted
        with pytest.raises(httpx.ConnectError):
            httpx.get(served.url + "/healthz", timeout=2)
    client.sendall(BODY[10:])
    assert read_status(client) == 201
    client.close()
    assert served.process.wait(timeout=30) == 0
    drained = time.monotonic() - signalled
    print(f"workers={workers}: SIGTERM to exit 0 in {drained:.2f} s")
    assert drained < 10, drained
    assert_clean(served)


_WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


def test_a_request_waiting_on_a_row_lock_finishes_before_exit(
    database_url: str, tmp_path: Path
) -> None:
    served = serve(database_url, tmp_path, TANDEM_ENV="production", RATE_LIMIT="off")
    user = json.loads(BODY)
    assert httpx.post(served.url + "/api/v1/auth/register", json=user).status_code == 201
    token = httpx.post(
        served.url + "/api/v1/auth/token",
        data={"grant_type": "password", "username": user["email"], "password": user["password"]},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    item = httpx.post(served.url + "/api/v1/items", json={"title": "Locked"}, headers=headers)
    item_id = item.json()["id"]

    async def scenario() -> tuple[int, float]:
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        holder = await asyncpg.connect(dsn)
        locked = holder.transaction()
        await locked.start()
        await holder.execute("SELECT 1 FROM items WHERE id = $1 FOR UPDATE", item_id)
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            patch = asyncio.create_task(
                http.patch(f"/api/v1/items/{item_id}", json={"title": "Changed"}, headers=headers)
            )
            async with asyncio.timeout(60):  # the PATCH waits on the lock
                while not await holder.fetchval(_WAITING_ON_A_LOCK):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert not patch.done()
            signalled = time.monotonic()
            served.process.send_signal(15)
            await asyncio.sleep(0.8)
            assert served.process.poll() is None
            await locked.rollback()  # the lock goes: the PATCH can finish
            await holder.close()
            answer = await patch
        return answer.status_code, signalled

    status, signalled = asyncio.run(scenario())
    assert status == 200
    assert served.process.wait(timeout=30) == 0
    assert time.monotonic() - signalled < 10
    assert_clean(served)


def test_the_grace_period_bounds_the_drain(database_url: str, tmp_path: Path) -> None:
    served = serve(database_url, tmp_path, TANDEM_ENV="production", SHUTDOWN_GRACE_SECONDS="2")
    client = start_slow_register(served)  # and never finished
    until_in_flight(served, 2)
    signalled = time.monotonic()
    served.process.send_signal(15)
    assert read_status(client) == 503  # cut short at the grace: told to retry, not dropped
    assert served.process.wait(timeout=30) == 0
    waited = time.monotonic() - signalled
    assert 2 <= waited < 8, waited
    client.close()
    log = served.log()
    assert "Traceback" not in log
    assert "request cut short by shutdown" in log
