"""A real HTTP receiver for webhook tests: uvicorn on loopback, answering as each test scripts it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

HANG = "hang"  # hold the request open until `release()` (or the client gives up)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next entry of `plan` (a status, or HANG), then `default`."""

    plan: list[int | str] = field(default_factory=list)
    default: int = 200
    response_body: bytes = b"ok"
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def release(self) -> None:
        self._released.set()

    async def wait_for(self, count: int, within: float = 15.0) -> list[Received]:
        """Wait until `count` requests have arrived (a test's wait, never the code's)."""
        async with asyncio.timeout(within):
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests

    def ids(self) -> list[str]:
        return [request.headers["webhook-id"] for request in self.requests]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        answer = self.plan.pop(0) if self.plan else self.default
        async with self._arrived:
            self.requests.append(Received(headers, body))
            self._arrived.notify_all()
        if answer == HANG:
            await self._released.wait()
            answer = self.default
        await send(
            {
                "type": "http.response.start",
                "status": int(answer),
                "headers": [(b"content-type", b"text/plain"), *self.response_headers],
            }
        )
        await send({"type": "http.response.body", "body": self.response_body})


@contextlib.asynccontextmanager
async def running(receiver: Receiver) -> AsyncIterator[Receiver]:
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event for it)
        await asyncio.sleep(0.01)
    receiver.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        receiver.release()
        server.should_exit = True
        await task


@dataclass
class ResettingReceiver:
    """Answers the first request on each connection (keep-alive) and resets any later one.

    What a pooled keep-alive connection looks like when the receiver has just dropped
    it: the sender's next request on it fails with a connection reset (httpx `ReadError`).
    """

    answered: list[bytes] = field(default_factory=list)
    resets: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                if served:
                    self.resets += 1
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                served += 1
                self.answered.append(body)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@contextlib.asynccontextmanager
async def resetting(receiver: ResettingReceiver) -> AsyncIterator[ResettingReceiver]:
    server = await asyncio.start_server(receiver._serve, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
