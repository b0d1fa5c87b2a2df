"""A dedicated connection that LISTENs, reconnecting by itself, for workers and fan-out.

NOTIFY arrives only for committed transactions, and only while connected: a
listener that was away must catch up from the tables (workers poll; fan-out
reads the events after its last position). `on_reconnect` says when to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import asyncpg

from tandem.persistence.database import asyncpg_dsn

log = logging.getLogger("tandem.listener")

Handler = Callable[[str, str], None]  # (channel, payload)


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _connection: event.set()


class Listener:
    def __init__(
        self,
        url: str,
        channels: Sequence[str],
        on_notify: Handler,
        *,
        on_reconnect: Callable[[], None] | None = None,
        retry_seconds: float = 1.0,
        application_name: str = "tandem-listen",
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._channels = tuple(channels)
        self._on_notify = on_notify
        self._on_reconnect = on_reconnect
        self._retry = retry_seconds
        self._application_name = application_name  # how pg_stat_activity names it
        self.connected = asyncio.Event()

    def _notified(self, connection: object, pid: int, channel: str, payload: str) -> None:
        self._on_notify(channel, payload)

    async def run(self) -> None:
        """Listen until cancelled; after a lost connection, reconnect and call `on_reconnect`."""
        first = True
        while True:
            lost = asyncio.Event()
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    self._dsn,
                    timeout=10,
                    server_settings={"application_name": self._application_name},
                )
                connection.add_termination_listener(_setter(lost))
                for channel in self._channels:
                    await connection.add_listener(channel, self._notified)
                self.connected.set()
                if not first and self._on_reconnect is not None:
                    self._on_reconnect()
                first = False
                while not lost.is_set():  # a silent network loss fires nothing: ask now and then
                    try:
                        async with asyncio.timeout(30):
                            await lost.wait()
                    except TimeoutError:
                        await connection.fetchval("SELECT 1", timeout=10)
                log.warning("the LISTEN connection was lost; reconnecting")
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                log.warning("cannot LISTEN (%s); retrying in %.0f s", error, self._retry)
            finally:
                self.connected.clear()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(self._retry)
