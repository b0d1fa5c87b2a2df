"""Reads on a real streaming replica, with read-your-writes across `tandem serve` processes.

A primary of the test's own (the embedded server's programs), a replica made from it with
`pg_basebackup -R` listening on a free loopback port, and two `tandem serve` processes with
`DATABASE_REPLICA_URLS` set. `pg_wal_replay_pause()` on the replica makes its lag visible:
an item written while replay is paused exists on the primary only, so who reads it where
shows in the answers themselves. docs/deploy.md, "Read replicas".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import asyncpg
import httpx
import pytest

from tests.ops.clusters import Cluster, new_root, program, remove, run
from tests.ops.served import SECRET, TANDEM, Served, free_port, serve

MAX_LAG = 6.0  # DATABASE_REPLICA_MAX_LAG_SECONDS of the served processes
API = "/api/v1"


@dataclass
class Streaming:
    primary: Cluster
    replica: Cluster
    replica_port: int

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/tandem"

    def replica_sql(self, statement: str) -> object:
        async def go() -> object:
            connection = await asyncpg.connect(
                host="127.0.0.1", port=self.replica_port, user="postgres", database="tandem"
            )
            try:
                return await connection.fetchval(statement)
            finally:
                await connection.close()

        return asyncio.run(go())

    def pause(self) -> None:
        self.replica_sql("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.replica_sql("SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def streaming() -> Iterator[Streaming]:
    primary = Cluster(new_root()).initdb().start()
    replica = Cluster(new_root())
    try:
        run(program("createdb"), "-h", str(primary.socket_dir), "-U", "postgres", "tandem")
        run(
            program("pg_basebackup"),
            *("-D", str(replica.pgdata), "-R", "-X", "stream", "-c", "fast"),
            *("-d", primary.libpq()),
        )
        port = free_port()
        replica.settings = {"listen_addresses": "127.0.0.1", "port": str(port)}
        replica.start()
        yield Streaming(primary, replica, port)
    finally:
        remove(replica)
        remove(primary)


@pytest.fixture(scope="module")
def served(
    streaming: Streaming, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Served]]:
    directory = tmp_path_factory.mktemp("replicas")
    settings = {
        "DATABASE_REPLICA_URLS": streaming.replica_url,
        "DATABASE_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG),
        "RATE_LIMIT": "off",
        "SERVE_WORKER": "false",
        "REQUEST_LOG": "false",
    }
    url = streaming.primary.url("tandem")
    first = serve(url, Path(directory), **settings)
    try:
        second = serve(url, Path(directory), **settings)
    except BaseException:
        first.stop()
        raise
    try:
        yield [first, second]
    finally:
        for process in (first, second):
            process.stop()


def sign_up(base: str, email: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base}{API}/auth/register",
        json={"email": email, "name": email.split("@")[0], "password": "correct horse 1"},
    )
    assert answer.status_code == 201, answer.text
    token = httpx.post(
        f"{base}{API}/auth/token",
        data={"grant_type": "password", "username": email, "password": "correct horse 1"},
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def routed(process: Served) -> dict[tuple[str, str], float]:
    """tandem_db_routed_reads_total of one process, by (target, reason)."""
    text = httpx.get(process.url + "/metrics").text
    found = {}
    pattern = r'tandem_db_routed_reads_total\{reason="([^"]*)",target="([^"]*)"\} (\S+)'
    for reason, target, value in re.findall(pattern, text):
        found[(target, reason)] = float(value)
    return found


def on_replica(process: Served) -> float:
    return routed(process).get(("replica", ""), 0.0)


def until(check, seconds: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Wait for `check()` to hold; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def replica_in_use(process: Served, headers: dict[str, str]) -> bool:
    before = on_replica(process)
    assert httpx.get(f"{process.url}{API}/users/me", headers=headers).status_code == 200
    return on_replica(process) > before


@pytest.fixture(scope="module")
def callers(served: list[Served]) -> tuple[dict[str, str], dict[str, str]]:
    writer = sign_up(served[0].url, "writer@example.com")
    reader = sign_up(served[0].url, "reader@example.com")
    for process in served:  # both processes measure the replica and route to it
        until(lambda p=process: replica_in_use(p, reader), 20, "reads reach the replica")
    return writer, reader


def item_query(node_id: str) -> dict[str, object]:
    return {"query": "query($id: ID!) { item(id: $id) { title } }", "variables": {"id": node_id}}


def test_a_write_is_read_back_from_any_process_while_others_read_the_replica(
    streaming: Streaming, served: list[Served], callers: tuple[dict[str, str], dict[str, str]]
) -> None:
    writer, reader = callers
    first, second = served
    paused = time.monotonic()
    streaming.pause()
    try:
        created = httpx.post(
            f"{first.url}{API}/items", json={"title": "only on the primary"}, headers=writer
        )
        assert created.status_code == 201, created.text
        item_id = created.json()["id"]

        # The writer reads its write back, through the other process too.
        for process in (second, first):
            answer = httpx.get(f"{process.url}{API}/items/{item_id}", headers=writer)
            assert answer.status_code == 200, answer.text
        # Another caller reads the replica, which has not replayed the write: 404 there.
        assert httpx.get(f"{second.url}{API}/items/{item_id}", headers=reader).status_code == 404
        graphql = httpx.post(
            f"{second.url}/graphql", json=item_query(created.json()["node_id"]), headers=reader
        )
        assert graphql.status_code == 200 and graphql.json()["data"]["item"] is None, graphql.text
        events = httpx.get(f"{second.url}{API}/events", headers=reader).json()["items"]
        assert not [e for e in events if e["data"]["item"]["id"] == item_id]
        mine = httpx.get(f"{second.url}{API}/events", headers=writer).json()["items"]
        assert [e["type"] for e in mine if e["data"]["item"]["id"] == item_id] == ["item.created"]
        assert time.monotonic() - paused < MAX_LAG, "too slow to prove anything: rerun"
        assert routed(second).get(("primary", "behind"), 0) > 0

        # Past the lag allowed, the paused replica is skipped: every caller reads the primary.
        took = until(
            lambda: (
                httpx.get(f"{second.url}{API}/items/{item_id}", headers=reader).status_code == 200
            ),
            MAX_LAG + 5,
            "the lagging replica is skipped",
        )
        # Not before the lag allowed (measured from the pause: other WAL may precede the item).
        assert time.monotonic() - paused >= MAX_LAG - 1.0, took
        assert routed(second).get(("primary", "unhealthy"), 0) > 0
    finally:
        streaming.resume()
    until(lambda: replica_in_use(second, reader), 10, "the replica serves again once replayed")
    assert httpx.get(f"{second.url}{API}/items/{item_id}", headers=reader).status_code == 200


class Hooks(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def webhook_receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhooks_receiver_reads_back_the_change_it_was_told_of(
    streaming: Streaming,
    served: list[Served],
    callers: tuple[dict[str, str], dict[str, str]],
    tmp_path: Path,
) -> None:
    writer, reader = callers
    first, second = served
    bystander = sign_up(first.url, "bystander@example.com")
    with webhook_receiver() as url:
        hook = httpx.post(
            f"{second.url}{API}/webhooks",
            json={"url": url, "events": ["item.created"]},
            headers=reader,
        )
        assert hook.status_code == 201, hook.text
        worker = subprocess.Popen(
            [TANDEM, "worker"],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("TANDEM")},
                "DATABASE_URL": streaming.primary.url("tandem"),
                "DATABASE_REPLICA_URLS": streaming.replica_url,
                "SECRET_KEY": SECRET,
                "DATA_DIR": str(tmp_path),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for caller in (reader, bystander):
                until(lambda c=caller: replica_in_use(second, c), 10, "reads reach the replica")
            paused = time.monotonic()
            streaming.pause()
            try:
                Hooks.received.clear()
                created = httpx.post(
                    f"{first.url}{API}/items", json={"title": "announced"}, headers=writer
                )
                assert created.status_code == 201, created.text
                path = f"{second.url}{API}/items/{created.json()['id']}"
                until(lambda: Hooks.received, 10, "the webhook arrives")
                # The receiver reads what it was told of (the primary); others, the replica.
                assert httpx.get(path, headers=reader).status_code == 200
                assert httpx.get(path, headers=bystander).status_code == 404
                assert time.monotonic() - paused < MAX_LAG, "too slow to prove anything: rerun"
            finally:
                streaming.resume()
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def test_a_stopped_replica_is_skipped_within_seconds_without_an_error(
    streaming: Streaming, served: list[Served], callers: tuple[dict[str, str], dict[str, str]]
) -> None:
    _writer, reader = callers
    for process in served:
        until(lambda p=process: replica_in_use(p, reader), 10, "reads reach the replica")
    skipped = [routed(process).get(("primary", "unhealthy"), 0) for process in served]
    streaming.replica.stop()
    try:
        statuses: list[int] = []
        started = time.monotonic()
        while time.monotonic() - started < 3:
            for process in served:
                for path in ("/users/me", "/items", "/events"):
                    statuses.append(
                        httpx.get(f"{process.url}{API}{path}", headers=reader).status_code
                    )
        assert set(statuses) == {200}, sorted(set(statuses))
        for process, before in zip(served, skipped, strict=True):
            assert httpx.get(process.url + "/readyz").status_code == 200
            assert routed(process).get(("primary", "unhealthy"), 0) > before
            assert "is skipped: down" in process.log()  # one warning line, per process
    finally:
        streaming.replica.start()
    for process in served:
        until(lambda p=process: replica_in_use(p, reader), 20, "the restarted replica serves")
