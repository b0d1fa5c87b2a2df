"""uvicorn's protocols, ending open subscriptions promptly and cleanly on shutdown.

WebSockets close with 1001 (going away); Server-Sent Events streams (graphql-sse)
end without a `complete` message, which graphql-sse clients read as "the server
went away: retry".

uvicorn closes them with 1012 (service restart) before the app hears of the shutdown;
the contract says 1001, which every WebSocket client knows as "the server went away:
reconnect", and graphql-ws clients retry on it.

Before the close, the app's drain (registered with `drain_before_closing`: the
subscription feed's) sends what committed before the SIGTERM, so a client that
resumes from its last cursor misses nothing. The drain runs once per process,
however many sockets or streams are open, and bounds its own time.

An event stream is an HTTP response in flight, which uvicorn would leave running
until `SHUTDOWN_GRACE_SECONDS` ran out and then cut mid-chunk, losing whatever its
subscription still held. `GoingAwayHttpProtocol` starts the drain when the server
asks its connections to shut down; when the drain is done, every stream wrapped by
`ending_on_shutdown` passes on what its subscription already handed over and ends
(the response completes, so the connection closes at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

GOING_AWAY = 1001
# After the drain, a stream passes on what comes within this of the one before...
STREAM_SETTLE_SECONDS = 0.05
# ...for at most this long (writes that commit after the SIGTERM may keep it busy).
STREAM_SETTLE_MOST_SECONDS = 1.0

_drain: Callable[[], Awaitable[None]] | None = None
_draining: asyncio.Future[None] | None = None


_drained_event: asyncio.Event | None = None  # set once the drain is done: streams end


def drain_before_closing(drain: Callable[[], Awaitable[None]] | None) -> None:
    """What to await (once) before open sockets close on shutdown; None for nothing."""
    global _drain, _draining, _drained_event
    _drain, _draining, _drained_event = drain, None, None


def _streams_end() -> asyncio.Event:
    global _drained_event
    if _drained_event is None:
        _drained_event = asyncio.Event()
    return _drained_event


def _going_away() -> None:
    """The server is shutting down: drain, then end every open event stream."""
    ended = _streams_end()
    if ended.is_set():
        return
    draining = _drained()
    if draining is None or draining.done():
        ended.set()
    else:
        draining.add_done_callback(lambda _: ended.set())


def ending_on_shutdown(
    stream: Callable[[], AsyncIterator[str]],
) -> Callable[[], AsyncGenerator[str, None]]:
    """The response's chunks, until the stream ends or the server goes away (after its
    drain): then what the subscription already handed over, and the end, without the
    `complete` that would tell the client there is nothing more to wait for."""

    async def chunks() -> AsyncGenerator[str, None]:
        source = aiter(stream())
        ended = asyncio.ensure_future(_streams_end().wait())
        step: asyncio.Future[str] | None = None
        try:
            while not ended.done():
                step = asyncio.ensure_future(anext(source))
                await asyncio.wait({step, ended}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    break
                try:
                    chunk = step.result()
                except StopAsyncIteration:
                    return
                step = None
                yield chunk
            settle_until = time.monotonic() + STREAM_SETTLE_MOST_SECONDS
            while time.monotonic() < settle_until:
                if step is None:
                    step = asyncio.ensure_future(anext(source))
                done, _ = await asyncio.wait({step}, timeout=STREAM_SETTLE_SECONDS)
                if not done:
                    return
                try:
                    chunk = step.result()
                except StopAsyncIteration:
                    step = None
                    return
                step = None
                yield chunk
        finally:
            ended.cancel()
            if step is not None and not step.done():
                step.cancel()
                with contextlib.suppress(BaseException):
                    await step
            closing = getattr(source, "aclose", None)
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing()

    return chunks


def _drained() -> asyncio.Future[None] | None:
    global _draining
    if _drain is None:
        return None
    if _draining is None:
        _draining = asyncio.ensure_future(_drain())
    return _draining


class GoingAwayProtocol(WebSocketsSansIOProtocol):
    def shutdown(self) -> None:
        if self.handshake_complete and not self.close_sent:
            draining = _drained()
            if draining is None or draining.done():
                self._go_away()
            else:
                draining.add_done_callback(lambda _: self._go_away())
            return
        super().shutdown()

    def _go_away(self) -> None:
        if not self.close_sent and not self.transport.is_closing():
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server shutting down")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.transport.close()


class GoingAwayHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol; a response in flight at shutdown (an event stream) starts the
    drain, after which the stream ends by itself (`ending_on_shutdown`)."""

    def shutdown(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            _going_away()
        super().shutdown()
