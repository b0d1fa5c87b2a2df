"""Tandem's write throughput: concurrent `POST /api/v1/items` against a served Tandem.

    .venv/bin/python -m bench.write_throughput [--connections 8,32,64] [--seconds 10]
        [--workers 2] [--trees before=/path/to/a/checkout,after=.] [--face rest|domain]

Each tree (a checkout of Tandem; default: this one) is served in turn by `tandem serve
--no-worker` on the bench's embedded PostgreSQL (`fsync` on, one fresh database for the
run), and wrk (bench/wrk.lua) keeps `--connections` connections creating items for
`--seconds`; the trees alternate at each level, so a busy moment of a shared machine
does not fall on one of them only. Printed per tree and level: requests per second,
non-2xx answers, p50/p99 latency, and the items the database holds afterwards (every
201 must be one). Item writes were the writes that notified in their own transaction
(docs/performance.md, "The NOTIFY ceiling"): this is where removing that shows, or not.

With `--face domain`, no server: a process run in each tree creates items through the
items use case (`services.items.create`, the transaction a POST makes, without HTTP)
from `--connections` concurrent writers, so Python's cost per write is a fraction of
a request's and the database's commit path is what is left to bind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.seed import DATA_DIR, ROOT

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
WRK_SCRIPT = ROOT / "bench" / "wrk.lua"
BODY = '{"title": "Written", "price": "1.50", "tags": ["bench"]}'


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(tree: Path, url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "warning",
        "DATA_DIR": str(DATA_DIR),
        "RATE_LIMIT": "off",
        "ACCESS_TOKEN_TTL_SECONDS": "3600",
        "PYTHONPATH": str(tree),
    }
    command = [sys.executable, "-m", "tandem.cli", "serve", "--port", str(port), "--no-worker"]
    if workers > 1:
        command += ["--workers", str(workers)]
    return subprocess.Popen(command, env=environment, cwd=tree)  # noqa: S603


def ready(port: int) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("bench: the server did not start")


def token(port: int, number: int) -> str:
    base = f"http://127.0.0.1:{port}"
    email = f"writer{number}-{time.time_ns()}@example.com"
    password = "bench-password-1"
    account = {"email": email, "name": "Writer", "password": password}
    made = httpx.post(f"{base}/api/v1/auth/register", json=account)
    assert made.status_code == 201, made.text
    tokens = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


def drive(port: int, bearer: str, connections: int, seconds: int) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        "POST",
        "/api/v1/items",
        BODY,
        bearer,
        "",
    ]
    finished = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH-JSON "))
            return result
    raise SystemExit(f"bench: wrk failed:\n{finished.stdout}\n{finished.stderr}")


DOMAIN_WRITERS = """
import asyncio, json, sys, time
from tandem.app import services_for
from tandem.config import Settings
from tandem.domain.items.commands import CreateItem
from tandem.domain.users.commands import RegisterUser
from tandem.persistence.counters import MemoryCounters
from tandem.persistence.database import Database

async def main(url, writers, seconds, number):
    settings = Settings(database_url=url, secret_key="x" * 48, password_hash_time_cost=1,
                        password_hash_memory_kib=1024)
    database = Database(url, pool_size=writers)
    services = services_for(settings, database, counters=MemoryCounters())
    email = f"domain{number}-{time.time_ns()}@example.com"
    await services.users.register(RegisterUser(email=email, name="W", password="p" * 12),
                                  role="member")
    tokens = await services.auth.login(email=email, password="p" * 12)
    principal = await services.auth.authenticate(tokens.access_token)
    done = 0
    stop = time.perf_counter() + seconds
    async def write():
        nonlocal done
        while time.perf_counter() < stop:
            await services.items.create(principal, CreateItem(title="Written"))
            done += 1
    began = time.perf_counter()
    await asyncio.gather(*(write() for _ in range(writers)))
    elapsed = time.perf_counter() - began
    await database.dispose()
    print("BENCH-JSON " + json.dumps({"commits": done, "seconds": elapsed}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
"""


def domain_writes(tree: Path, url: str, writers: int, seconds: int, number: int) -> float:
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    finished = subprocess.run(  # noqa: S603
        [sys.executable, "-c", DOMAIN_WRITERS, url, str(writers), str(seconds), str(number)],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            result = json.loads(line.removeprefix("BENCH-JSON "))
            return float(result["commits"]) / float(result["seconds"])
    raise SystemExit(f"bench: the writers failed:\n{finished.stdout}\n{finished.stderr}")


async def items_held(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM items"))
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", default="8,32,64")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trees", default=f"this={ROOT}", help="name=path,...")
    parser.add_argument("--face", choices=("rest", "domain"), default="rest")
    args = parser.parse_args(argv)
    if args.face == "rest" and not shutil.which("wrk"):
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    trees = [
        (name, Path(path).resolve())
        for name, _, path in (item.partition("=") for item in args.trees.split(","))
    ]
    levels = [int(value) for value in args.connections.split(",") if value.strip()]

    from tandem.persistence import embedded, migrate
    from tandem.persistence.database import asyncpg_dsn

    server = embedded.start(DATA_DIR)
    url = server.ensure_database("tandem_bench_writes", fresh=True)
    migrate.upgrade(url)
    dsn = asyncpg_dsn(url)
    settings = asyncio.run(_settings(dsn))
    print(json.dumps(_stamp(settings)), flush=True)
    rows = []
    for round_, connections in enumerate(levels):
        order = trees if round_ % 2 == 0 else list(reversed(trees))
        for name, tree in order:
            if args.face == "domain":
                before = asyncio.run(items_held(dsn))
                per_second = domain_writes(tree, url, connections, args.seconds, round_)
                written = asyncio.run(items_held(dsn)) - before
                row = {
                    "tree": name,
                    "face": "domain",
                    "writers": connections,
                    "commits_per_s": round(per_second, 1),
                    "items_written": written,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
                continue
            port = free_port()
            process = serve(tree, url, port, args.workers)
            try:
                ready(port)
                bearer = token(port, round_)
                before = asyncio.run(items_held(dsn))
                result = drive(port, bearer, connections, args.seconds)
                time.sleep(0.5)
                written = asyncio.run(items_held(dsn)) - before
            finally:
                process.terminate()
                process.wait(timeout=60)
            seconds = result["duration_us"] / 1e6
            errors = result["errors"]
            row = {
                "tree": name,
                "connections": connections,
                "requests_per_s": round(result["requests"] / seconds, 1),
                "items_written": written,
                "non_2xx": errors["status"],
                "socket_errors": errors["connect"] + errors["read"] + errors["timeout"],
                "p50_ms": round(result["p50_us"] / 1000, 1),
                "p99_ms": round(result["p99_us"] / 1000, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)


async def _settings(dsn: str) -> dict[str, str]:
    connection = await asyncpg.connect(dsn)
    try:
        return {
            name: str(await connection.fetchval(f"SHOW {name}"))
            for name in ("fsync", "synchronous_commit", "server_version")
        }
    finally:
        await connection.close()


def _stamp(settings: dict[str, str]) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "load_average": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        **settings,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
