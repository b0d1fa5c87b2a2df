"""Count SQL statements on the wire: a PostgreSQL protocol proxy on a Unix socket.

Why a proxy: the embedded server has no pg_stat_statements, and
`pg_stat_database.xact_commit` is flushed lazily (a busy backend holds up to
about ten seconds of counts before it reports them), so per-path deltas read
from it mix paths. The proxy sees every frontend message the moment it is
sent, for Tandem and the floor alike, with no instrumentation inside either.

Counted, per message type: `E` (Execute: one run of a prepared statement, how
asyncpg runs every parameterised query), `Q` (a simple-protocol query string,
such as BEGIN or asyncpg's pool reset) and `P` (Parse: a statement prepared,
a cache miss). "Statements" = E + Q. The proxy is only used in the counting
phase; the timed runs connect to PostgreSQL directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import tempfile
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CHUNK = 65_536


class FrontendCounter:
    """Parses the client-to-server byte stream after the startup packet, in any chunk sizes."""

    def __init__(self, counts: Counter[str]) -> None:
        self._counts = counts
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 5:
            (length,) = struct.unpack_from("!i", self._buffer, 1)
            if len(self._buffer) < 1 + length:
                return
            self._counts[chr(self._buffer[0])] += 1
            del self._buffer[: 1 + length]


async def read_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """The client's startup packet; an SSL or GSS request first is answered 'N' (plain text)."""
    for _ in range(3):
        header = await reader.readexactly(8)
        length, code = struct.unpack("!ii", header)
        if code in (SSL_REQUEST, GSSENC_REQUEST) and length == 8:
            writer.write(b"N")
            await writer.drain()
            continue
        return header + await reader.readexactly(length - 8)
    raise ConnectionError("no startup packet after three encryption requests")


class StatementCounter:
    """The proxy, on its own event loop in a daemon thread; `counts()` is a snapshot."""

    def __init__(self, upstream_url: str) -> None:
        url = make_url(upstream_url)
        self._upstream_url = url
        socket_dir = url.query.get("host")
        if isinstance(socket_dir, tuple):
            socket_dir = socket_dir[0]
        self._upstream_socket = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if socket_dir else None
        self._upstream_tcp = (url.host or "127.0.0.1", url.port or 5432)
        self._counts: Counter[str] = Counter()
        self._directory = tempfile.TemporaryDirectory(prefix="tandem-bench-wire-")
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wire-counter", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        """The upstream URL, pointed at the proxy's socket instead."""
        url = self._upstream_url.set(host=None, port=None)
        query = {k: v for k, v in url.query.items() if k != "host"}
        rendered = url.set(query=query).render_as_string(hide_password=False)
        separator = "&" if "?" in rendered else "?"
        return f"{rendered}{separator}host={quote(self._directory.name)}"

    def counts(self) -> Counter[str]:
        return Counter(self._counts)

    def start(self) -> StatementCounter:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the statement-counting proxy did not start")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._directory.cleanup()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        path = str(Path(self._directory.name) / ".s.PGSQL.5432")
        self._server = self._loop.run_until_complete(
            asyncio.start_unix_server(self._serve, path=path)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._upstream_socket:
            return await asyncio.open_unix_connection(self._upstream_socket)
        return await asyncio.open_connection(*self._upstream_tcp)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            startup = await read_startup(reader, writer)
            upstream_reader, upstream_writer = await self._open_upstream()
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            return
        upstream_writer.write(startup)
        parser = FrontendCounter(self._counts)

        async def client_to_server() -> None:
            while data := await reader.read(CHUNK):
                parser.feed(data)
                upstream_writer.write(data)
                await upstream_writer.drain()

        async def server_to_client() -> None:
            while data := await upstream_reader.read(CHUNK):
                writer.write(data)
                await writer.drain()

        tasks = [
            asyncio.ensure_future(client_to_server()),
            asyncio.ensure_future(server_to_client()),
        ]
        with contextlib.suppress(OSError):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for stream in (writer, upstream_writer):
            with contextlib.suppress(OSError, RuntimeError):
                stream.close()
