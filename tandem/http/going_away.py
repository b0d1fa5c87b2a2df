"""uvicorn's WebSocket protocol, closing open sockets with 1001 (going away) on shutdown.

uvicorn closes them with 1012 (service restart) before the app hears of the shutdown;
the contract says 1001, which every WebSocket client knows as "the server went away:
reconnect", and graphql-ws clients retry on it.

Before the close, the app's drain (registered with `drain_before_closing`: the
subscription feed's) sends what committed before the SIGTERM, so a client that
resumes from its last cursor misses nothing. The drain runs once per process,
however many sockets are open, and bounds its own time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

GOING_AWAY = 1001

_drain: Callable[[], Awaitable[None]] | None = None
_draining: asyncio.Future[None] | None = None


def drain_before_closing(drain: Callable[[], Awaitable[None]] | None) -> None:
    """What to await (once) before open sockets close on shutdown; None for nothing."""
    global _drain, _draining
    _drain, _draining = drain, None


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
