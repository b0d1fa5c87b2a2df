"""Real `tandem serve` processes on the test database, and a small graphql-transport-ws client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import websockets

from tandem.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBE = "subscription($owner: ID) { itemChanged(ownerId: $owner) { kind itemId item { title status version owner { name } } } }"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(settings: Settings, tmp_path: Path, name: str, **env: str) -> Server:
    """A `tandem serve` on a free port, once it answers /readyz.

    The port is free when chosen, but the server binds it only after its imports and
    migrations (seconds on a loaded machine), and meanwhile any connection on the machine
    may take it as its own local port: a server that lost its port that way starts again
    on another one.
    """
    for _attempt in range(3):
        server = _start_once(settings, tmp_path, name, **env)
        if server is not None:
            return server
    raise AssertionError(f"{name} found no free port in three tries")


def _start_once(settings: Settings, tmp_path: Path, name: str, **env: str) -> Server | None:
    port = free_port()
    assert settings.database_url is not None
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key or "",
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "warning",
        "RATE_LIMIT": "off",
        "SUBSCRIPTION_RECHECK_SECONDS": "0.5",
        **env,
    }
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", "serve", "--port", str(port), "--no-worker"],
        env=environment,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(process, port, log)
    deadline = time.monotonic() + 120  # a loaded machine imports and migrates slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "address already in use" in server.output():
                return None
            raise AssertionError(f"{name} exited: {server.output()}")
        try:
            if httpx.get(f"{server.http}/readyz", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise AssertionError(f"{name} did not start: {server.output()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextlib.contextmanager
def servers(settings: Settings, tmp_path: Path, count: int, **env: str) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for number in range(count):
            started.append(start_server(settings, tmp_path, f"server{number}", **env))
        yield started
    finally:
        for server in started:
            stop_server(server)


_LIVE = re.compile(r"^tandem_subscriptions_live (\S+)$", re.MULTILINE)


async def live_subscriptions(server: Server) -> int:
    """How many subscriptions `server` has added to its fan-out (its /metrics gauge)."""
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        text = (await http.get("/metrics")).text
    found = _LIVE.search(text)
    return 0 if found is None else int(float(found.group(1)))


async def until_live(server: Server, count: int, within: float = 30.0) -> None:
    """Wait until `server` has exactly `count` live subscriptions.

    A subscription hears only what commits after the server added it to its fan-out
    (the gauge counts it then), and that happens some time after the client's
    `subscribe` message: a change made before would be missed. So a test waits for
    this rather than sleeping. With 0 it waits for an earlier test's subscriptions on a
    shared server to have ended, so they cannot stand in for the test's own.
    """
    live = -1
    try:
        async with asyncio.timeout(within):
            while (live := await live_subscriptions(server)) != count:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(
            f"{server.http} has {live} live subscriptions after {within} s, not {count}"
        ) from None


class Socket:
    """One graphql-transport-ws connection, as a test drives it."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, within: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            message: dict[str, Any] = json.loads(await self.connection.recv())
            return message

    async def subscribe(self, id: str, query: str = SUBSCRIBE, **variables: Any) -> None:
        await self.send(
            {"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    async def next_event(self, within: float = 10.0) -> dict[str, Any]:
        """The next `next` message's data.itemChanged (pings answered on the way)."""
        while True:
            message = await self.receive(within)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            event: dict[str, Any] = message["payload"]["data"]["itemChanged"]
            return event

    async def closed(self, within: float = 10.0) -> tuple[int | None, str]:
        """Read until the server closes; its close code and reason."""
        async with asyncio.timeout(within):
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    await self.connection.recv()
        return self.connection.close_code, self.connection.close_reason or ""


@contextlib.asynccontextmanager
async def connected(
    url: str, token: str | None = None, *, subprotocol: str = "graphql-transport-ws", **options: Any
) -> AsyncIterator[Socket]:
    """A socket past connection_ack (with `token` in connection_init's payload, if given)."""
    async with websockets.connect(url, subprotocols=[subprotocol], **options) as connection:
        socket_ = Socket(connection)
        payload = {} if token is None else {"Authorization": f"Bearer {token}"}
        await socket_.send({"type": "connection_init", "payload": payload})
        ack = await socket_.receive()
        assert ack["type"] == "connection_ack", ack
        yield socket_
