"""uvicorn's WebSocket protocol, closing open sockets with 1001 (going away) on shutdown.

uvicorn closes them with 1012 (service restart) before the app hears of the shutdown;
the contract says 1001, which every WebSocket client knows as "the server went away:
reconnect", and graphql-ws clients retry on it.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

GOING_AWAY = 1001


class GoingAwayProtocol(WebSocketsSansIOProtocol):
    def shutdown(self) -> None:
        if self.handshake_complete and not self.close_sent:
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server shutting down")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.transport.close()
            return
        super().shutdown()
