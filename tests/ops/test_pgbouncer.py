"""Behind PgBouncer in transaction mode, with asyncpg's statement cache off, nothing breaks.

PgBouncer before 1.21 (Debian 12 ships 1.18) hands each transaction whichever server
connection is free, so a statement asyncpg prepared by name on one connection is missing
on the next: requests failed with `prepared statement "__asyncpg_stmt_…__" does not exist`
(docs/deploy.md). DB_STATEMENT_CACHE_SIZE=0 is the way through, checked here for real.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.ops.served import free_port, serve

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
# What Tandem sets per connection; PgBouncer refuses startup parameters it does not know.
IGNORED = "extra_float_digits,statement_timeout,lock_timeout,idle_in_transaction_session_timeout"


@pytest.fixture
def pgbouncer_url(database_url: str) -> Iterator[str]:
    if not os.path.exists(PGBOUNCER):
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is not installed (.ci/install-clients installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    url = make_url(database_url)
    host = str(url.query.get("host") or url.host or "127.0.0.1")
    # PgBouncer will not run as root; it runs as whoever may open the server's socket.
    user = Path(host).owner() if host.startswith("/") else "nobody"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tandem-pgbouncer-") as directory:
        shutil.chown(directory, user)  # PgBouncer, as `user`, writes its pid file and log here
        config = Path(directory) / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host={host} port={url.port or 5432} user={url.username or 'postgres'}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {directory}/users.txt\n"
            "pool_mode = transaction\ndefault_pool_size = 4\n"
            f"ignore_startup_parameters = {IGNORED}\n"
            f"logfile = {directory}/pgbouncer.log\npidfile = {directory}/pgbouncer.pid\n"
        )
        (Path(directory) / "users.txt").write_text(f'"{url.username or "postgres"}" ""\n')
        for name in ("pgbouncer.ini", "users.txt"):
            os.chmod(Path(directory) / name, 0o644)
        process = subprocess.Popen([PGBOUNCER, "-u", user, str(config)])
        try:
            deadline = time.monotonic() + 10
            while "listening on" not in _log(directory):
                assert process.poll() is None, _log(directory)
                assert time.monotonic() < deadline, _log(directory)
                time.sleep(0.05)
            yield (f"postgresql://{url.username or 'postgres'}@127.0.0.1:{port}/{url.database}")
        finally:
            process.terminate()
            process.wait(timeout=10)


def _log(directory: str) -> str:
    path = Path(directory) / "pgbouncer.log"
    return path.read_text(errors="replace") if path.exists() else ""


async def test_a_served_tandem_behind_pgbouncer_in_transaction_mode_answers_every_request(
    pgbouncer_url: str, tmp_path: Path
) -> None:
    served = serve(pgbouncer_url, tmp_path, DB_STATEMENT_CACHE_SIZE="0", DB_POOL_SIZE="8")
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            account = {"email": "bouncer@example.com", "name": "B", "password": "long enough pw"}
            assert (await client.post("/api/v1/auth/register", json=account)).status_code == 201
            form = {
                "grant_type": "password",
                "username": account["email"],
                "password": "long enough pw",
            }
            token = (await client.post("/api/v1/auth/token", data=form)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            created = await client.post("/api/v1/items", json={"title": "Bounced"}, headers=headers)
            assert created.status_code == 201, created.text

            async def read(n: int) -> int:
                path = "/api/v1/items" if n % 2 else f"/api/v1/items/{created.json()['id']}"
                return (await client.get(path, headers=headers)).status_code

            statuses = await asyncio.gather(*(read(n) for n in range(40)))
            graphql = await client.post(
                "/graphql",
                json={"query": "{ me { name } items(first: 5) { totalCount } }"},
                headers=headers,
            )
        assert statuses == [200] * 40, statuses
        assert graphql.json()["data"] == {"me": {"name": "B"}, "items": {"totalCount": 1}}
    finally:
        served.stop()
    assert "Traceback" not in served.log(), served.log()[-3000:]
