"""A soak with faults for subscriptions: latency, memory, and what is lost across a restart.

    .venv/bin/python -m bench.fault_soak [--minutes 5] [--rate 25] [--subscribers 8]

Two `tandem serve --no-worker` processes (A and B) on the bench's embedded PostgreSQL;
this process writes items through the domain's use case at `--rate` commits a second
(each its own transaction, arriving at random), so every event crosses processes
through the outbox and the wake-ups. `--subscribers` graphql-transport-ws
subscriptions, half on each server, each resuming with `itemChanged(after:)` and its
last cursor whenever its connection drops. A third of the way through, A gets SIGTERM
(it drains, closes with 1001) and is started again on the same port; at two thirds,
B gets SIGKILL and is started again.

Reported: commit-to-subscriber latency (p50/p95/p99/max) of the deliveries away from
the faults (their commit more than 2 s from a signal or a restart) and of all of
them; each server's resident memory every 30 s; and for every subscriber, compared
with the outbox itself (the events committed from its first one on, in order): events
lost, sent twice, or out of order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from websockets.typing import Subprotocol

from bench.seed import DATA_DIR, ROOT
from bench.subscriptions import SECRET, free_port, percentile, rss_mib

PASSWORD = "bench-password-1"
QUERY = (
    "subscription($after: String) { itemChanged(after: $after) "
    "{ kind eventId cursor item { title owner { name } } } }"
)


@dataclass
class Served:
    name: str
    port: int
    url: str
    process: subprocess.Popen[bytes] | None = None
    down: list[tuple[float, float]] = field(default_factory=list)  # (signalled, ready again)

    def start(self) -> None:
        environment = {
            **os.environ,
            "DATABASE_URL": self.url,
            "SECRET_KEY": SECRET,
            "LOG_LEVEL": "warning",
            "DATA_DIR": str(DATA_DIR),
            "RATE_LIMIT": "off",
            "ACCESS_TOKEN_TTL_SECONDS": "3600",
        }
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "tandem.cli", "serve", "--port", str(self.port), "--no-worker"],
            env=environment,
            cwd=ROOT,
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise SystemExit(f"bench: {self.name} did not start")

    async def restart(self, how: signal.Signals) -> dict[str, float]:
        assert self.process is not None
        signalled = time.perf_counter()
        self.process.send_signal(how)
        code = await asyncio.to_thread(self.process.wait, 60)
        exited = time.perf_counter()
        self.start()
        await self.ready()
        again = time.perf_counter()
        self.down.append((signalled, again))
        return {"exit_code": code, "exit_s": exited - signalled, "back_s": again - signalled}


class Subscriber:
    def __init__(self, server: Served, token: str, committed: dict[str, float]) -> None:
        self.server, self.token, self.committed = server, token, committed
        self.received: list[tuple[str, float]] = []  # (event id, arrival)
        self.cursor: str | None = None
        self.closes: list[int | None] = []  # how each live connection ended
        self.refused = 0  # connection attempts that failed while a server was away
        self.ready = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self._once()
            except websockets.ConnectionClosed as closed:  # e.g. 1006 after a SIGKILL
                self.closes.append(closed.rcvd.code if closed.rcvd else 1006)
            except (OSError, websockets.WebSocketException, TimeoutError):
                self.refused += 1  # the server is away: try again shortly
            await asyncio.sleep(0.2)

    async def _once(self) -> None:
        url = f"ws://127.0.0.1:{self.server.port}/graphql"
        async with websockets.connect(
            url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            max_queue=None,
            open_timeout=30,
        ) as ws:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
            await ws.send(json.dumps(init))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise websockets.WebSocketException(str(ack))
            variables = {} if self.cursor is None else {"after": self.cursor}
            payload = {"query": QUERY, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            self.ready.set()
            async for raw in ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message.get("type") == "next":
                    if "errors" in message["payload"]:
                        raise websockets.WebSocketException(str(message["payload"]["errors"]))
                    event = message["payload"]["data"]["itemChanged"]
                    self.received.append((event["eventId"], now))
                    self.cursor = event["cursor"]
                elif message.get("type") in ("complete", "error"):
                    raise websockets.WebSocketException(str(message))
            self.closes.append(ws.close_code)  # closed by the server (1001 on its SIGTERM)


async def soak(minutes: float, rate: float, count: int) -> dict[str, Any]:
    from tandem.app import services_for
    from tandem.config import Settings
    from tandem.domain.items.commands import CreateItem
    from tandem.domain.users.commands import RegisterUser
    from tandem.persistence import embedded, migrate
    from tandem.persistence.counters import MemoryCounters
    from tandem.persistence.database import Database, asyncpg_dsn

    server_ = await asyncio.to_thread(embedded.start, DATA_DIR)
    url = await asyncio.to_thread(server_.ensure_database, "tandem_bench_faults", fresh=True)
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        data_dir=DATA_DIR,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        access_token_ttl_seconds=3600,
    )
    database = Database(url, pool_size=16)
    services = services_for(settings, database, counters=MemoryCounters())
    for email in ("writer@example.com", "watcher@example.com"):
        await services.users.register(
            RegisterUser(email=email, name=email.split("@")[0], password=PASSWORD),
            role="member",
        )
    writer = await services.auth.authenticate(
        (await services.auth.login(email="writer@example.com", password=PASSWORD)).access_token
    )
    watcher = (
        await services.auth.login(email="watcher@example.com", password=PASSWORD)
    ).access_token

    servers = [Served("A", free_port(), url), Served("B", free_port(), url)]
    for served in servers:
        served.start()
    await asyncio.gather(*(served.ready() for served in servers))
    committed: dict[str, float] = {}  # item title -> commit time
    titles: dict[str, str] = {}  # event id -> item title (filled from the outbox at the end)
    subscribers = [Subscriber(servers[n % 2], watcher, committed) for n in range(count)]
    tasks = [asyncio.create_task(s.run()) for s in subscribers]
    await asyncio.gather(*(s.ready.wait() for s in subscribers))
    await asyncio.sleep(1.0)
    figures: dict[str, Any] = {"rss_mib": {"A": [], "B": []}, "faults": {}}
    stop = asyncio.Event()

    async def write() -> None:
        chance = random.Random(24)  # noqa: S311
        number = 0
        pending: set[asyncio.Task[None]] = set()

        async def one(title: str) -> None:
            await services.items.create(writer, CreateItem(title=title))
            committed[title] = time.perf_counter()

        while not stop.is_set():
            await asyncio.sleep(chance.expovariate(rate))
            task = asyncio.create_task(one(f"Soak {number}"))
            pending.add(task)
            task.add_done_callback(pending.discard)
            number += 1
        await asyncio.gather(*pending, return_exceptions=True)

    async def sample() -> None:
        while not stop.is_set():
            for served in servers:
                pid = served.process.pid if served.process else 0
                with contextlib.suppress(OSError):
                    figures["rss_mib"][served.name].append(round(rss_mib(pid), 1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 30)

    began = time.perf_counter()
    writing = asyncio.create_task(write())
    sampling = asyncio.create_task(sample())
    total = minutes * 60
    await asyncio.sleep(total / 3)
    figures["faults"]["A_sigterm"] = await servers[0].restart(signal.SIGTERM)
    await asyncio.sleep(max(0.0, began + 2 * total / 3 - time.perf_counter()))
    figures["faults"]["B_sigkill"] = await servers[1].restart(signal.SIGKILL)
    await asyncio.sleep(max(0.0, began + total - time.perf_counter()))
    stop.set()
    await writing
    await sampling
    # Every subscriber catches up (or 60 s pass).
    async with asyncpg.create_pool(asyncpg_dsn(url), min_size=1, max_size=2) as pool:
        rows = await pool.fetch(
            "SELECT e.public_id, e.data->'item'->>'title' FROM events e ORDER BY e.txid, e.id"
        )
    every = [row[0] for row in rows]
    titles = {row[0]: row[1] for row in rows}
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline and any(  # noqa: ASYNC110
        not s.received or s.received[-1][0] != every[-1] for s in subscribers
    ):
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    windows = [(a - 2.0, b + 2.0) for served in servers for a, b in served.down]
    steady: list[float] = []
    everything: list[float] = []
    per_subscriber = []
    for s in subscribers:
        got = [event_id for event_id, _ in s.received]
        first = every.index(got[0]) if got else 0
        expected = every[first:]
        seen = set(got)
        lost = [e for e in expected if e not in seen]
        in_order = [e for e in got if e in set(expected)] == [e for e in expected if e in seen]
        per_subscriber.append(
            {
                "server": s.server.name,
                "received": len(got),
                "expected": len(expected),
                "lost": len(lost),
                "sent_twice": len(got) - len(seen),
                "in_order": in_order,
                "closes": [str(code) for code in s.closes],
                "attempts_refused": s.refused,
            }
        )
        for event_id, arrival in s.received:
            at = committed.get(titles.get(event_id, ""))
            if at is None:
                continue
            latency = (arrival - at) * 1000
            everything.append(latency)
            if not any(low <= at <= high for low, high in windows):
                steady.append(latency)

    def summary(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {
            "deliveries": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1),
        }

    figures.update(
        events=len(every),
        commits=len(committed),
        seconds=round(time.perf_counter() - began, 1),
        latency_away_from_faults=summary(steady),
        latency_all=summary(everything),
        subscribers=per_subscriber,
    )
    for served in servers:
        if served.process is not None and served.process.poll() is None:
            served.process.terminate()
            served.process.wait(timeout=60)
    await database.dispose()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--rate", type=float, default=25, help="commits a second")
    parser.add_argument("--subscribers", type=int, default=8)
    args = parser.parse_args(argv)
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    stamp = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "load_average": round(os.getloadavg()[0], 1),
    }
    figures = asyncio.run(soak(args.minutes, args.rate, args.subscribers))
    print(json.dumps({**stamp, **figures}, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
