"""Subscription figures: commit-to-subscriber latency across processes, and 1,000 subscribers.

    .venv/bin/python -m bench.subscriptions [--events 200] [--rates 25,100] [--rate-seconds 15]
                                            [--subscribers 1000] [--fan-events 50]
    .venv/bin/python -m bench.subscriptions --soak-minutes 10 [--soak-subscribers 100]
                                            [--soak-rate 5]

One `tandem serve --no-worker` process holds the subscriptions (graphql-transport-ws
sockets from this process); this process writes items through the domain's use
case, so each event crosses processes through the outbox and LISTEN/NOTIFY. Both
clocks are this process's: an event is timed from the moment its transaction's
commit returned to the moment a subscriber had the `next` message.

- Latency: one subscriber, `--events` items created 20 ms apart: p50 and p99.
- Steady writes: for each of `--rates` (commits per second, arriving at random, each
  in its own transaction, so commits overlap as in production), `--rate-seconds` of
  writes to one subscriber: p50, p90, p95, p99 and the worst latency.
- Fan-out: `--subscribers` (0 skips it) sockets of one subscription each, `--fan-events` items
  250 ms apart: latency to every subscriber (p50/p99 of all deliveries, and of the
  last delivery per event), and the server process's resident memory (idle, with
  the subscribers, after the events) and CPU time per event (/proc, user+system).
- Soak (`--soak-minutes`, alone): `--soak-subscribers` open subscriptions and
  `--soak-rate` events a second; the server's resident memory each minute.

The output starts with the date, the commit and the load average: the figures are
only comparable between runs on the same machine at the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.seed import DATA_DIR, ROOT

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
QUERY = "subscription { itemChanged { kind itemId item { title version owner { name } } } }"
TICK = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Subscriber:
    def __init__(self, url: str, token: str, arrived: dict[int, list[float]]) -> None:
        self.url, self.token, self.arrived = url, token, arrived
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Subscribe, retrying a refused or failed connection (a loaded machine drops some)."""
        for _ in range(20):
            try:
                await self._run()
                return
            except (OSError, websockets.WebSocketException, TimeoutError):
                await asyncio.sleep(0.5)

    async def _run(self) -> None:
        async with websockets.connect(
            self.url, subprotocols=["graphql-transport-ws"], max_queue=None, open_timeout=60
        ) as ws:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
            await ws.send(json.dumps(init))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise websockets.WebSocketException(str(ack))
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": QUERY}}
            await ws.send(json.dumps(subscribe))
            self.ready.set()
            async for raw in ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") == "next":
                    title = message["payload"]["data"]["itemChanged"]["item"]["title"]
                    self.arrived.setdefault(int(title.split()[-1]), []).append(now)


async def soak(
    figures: dict[str, float],
    pid: int,
    ws_url: str,
    token: str,
    append: Any,
    minutes: float,
    subscribers: int,
    rate: float,
    tasks: list[asyncio.Task[None]],
) -> None:
    """`subscribers` open subscriptions and `rate` events a second for `minutes`: RSS each minute."""
    arrived: dict[int, list[float]] = {}
    many = [Subscriber(ws_url, token, arrived) for _ in range(subscribers)]
    for start in range(0, subscribers, 20):
        batch = many[start : start + 20]
        tasks.extend(asyncio.create_task(s.run()) for s in batch)
        await asyncio.gather(*(s.ready.wait() for s in batch))
    await asyncio.sleep(2.0)
    figures["soak_rss_0_mib"] = rss_mib(pid)
    committed: dict[int, float] = {}
    began = time.perf_counter()
    number = 1_000_000
    minute = 1
    while time.perf_counter() - began < minutes * 60:
        await append(number, committed)
        number += 1
        await asyncio.sleep(1 / rate)
        if time.perf_counter() - began >= minute * 60:
            figures[f"soak_rss_{minute}_mib"] = rss_mib(pid)
            figures[f"soak_events_{minute}"] = len(committed)
            print(f"minute {minute}: {rss_mib(pid):.1f} MiB, {len(committed)} events", flush=True)
            minute += 1
    await asyncio.sleep(3.0)
    figures["soak_events"] = len(committed)
    figures["soak_deliveries"] = sum(len(v) for v in arrived.values())
    figures["soak_deliveries_expected"] = len(committed) * subscribers


async def measure(
    events: int,
    rates: list[int],
    rate_seconds: float,
    subscribers: int,
    fan_events: int,
    soak_minutes: float = 0,
    soak_subscribers: int = 100,
    soak_rate: float = 5,
) -> dict[str, float]:
    from tandem.app import services_for
    from tandem.config import Settings
    from tandem.domain.events.documents import item_event
    from tandem.domain.events.records import EventType
    from tandem.domain.items.commands import CreateItem
    from tandem.domain.items.records import ItemRecord
    from tandem.domain.users.commands import RegisterUser
    from tandem.persistence import embedded, migrate
    from tandem.persistence.counters import MemoryCounters
    from tandem.persistence.database import Database

    server_ = await asyncio.to_thread(embedded.start, DATA_DIR)
    url = await asyncio.to_thread(server_.ensure_database, "tandem_bench_subscriptions", fresh=True)
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        data_dir=DATA_DIR,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
    )
    database = Database(url, pool_size=16)
    services = services_for(settings, database, counters=MemoryCounters())
    await services.users.register(
        RegisterUser(email="bench@example.com", name="Bench", password="bench-password-1"),
        role="member",
    )
    tokens = await services.auth.login(email="bench@example.com", password="bench-password-1")
    principal = await services.auth.authenticate(tokens.access_token)

    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "warning",
        "DATA_DIR": str(DATA_DIR),
        "RATE_LIMIT": "off",
        "ACCESS_TOKEN_TTL_SECONDS": "3600",
        # Every subscriber connects from 127.0.0.1: the per-address cap (50) would refuse most.
        "SOCKETS_PER_ADDRESS": "5000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", "serve", "--port", str(port), "--no-worker"],
        env=environment,
        cwd=ROOT,
    )
    figures: dict[str, float] = {}
    tasks: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        ws_url = f"ws://127.0.0.1:{port}/graphql"

        async def write(number: int, committed: dict[int, float]) -> None:
            await services.items.create(principal, CreateItem(title=f"Event {number}"))
            committed[number] = time.perf_counter()

        async def append(number: int, done: dict[int, float]) -> None:
            moment = datetime.now(UTC)
            item = ItemRecord(
                id=number,
                owner_id=principal.user_id,
                title=f"Event {number}",
                description=None,
                price=None,
                tags=[],
                status="published",
                version=1,
                created_at=moment,
                updated_at=moment,
            )
            async with database.transaction() as uow:
                await uow.events.append(item_event(EventType.ITEM_CREATED, item))
            done[number] = time.perf_counter()

        if soak_minutes:
            await soak(
                figures,
                server.pid,
                ws_url,
                tokens.access_token,
                append,
                soak_minutes,
                soak_subscribers,
                soak_rate,
                tasks,
            )
            return figures

        # 1. One subscriber: commit to subscriber, across processes (--events 0 skips it).
        arrived: dict[int, list[float]] = {}
        one = Subscriber(ws_url, tokens.access_token, arrived)
        tasks.append(asyncio.create_task(one.run()))
        await one.ready.wait()
        await asyncio.sleep(0.5)
        committed: dict[int, float] = {}
        for number in range(events):
            await write(number, committed)
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)
        latencies = [(arrived[n][0] - t) * 1000 for n, t in committed.items() if n in arrived]
        if latencies:
            figures.update(
                one_events=len(committed),
                one_received=len(latencies),
                one_p50_ms=statistics.median(latencies),
                one_p99_ms=percentile(latencies, 0.99),
            )
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        tasks.clear()
        await asyncio.sleep(1.0)

        # 2. Steady writes: commits arriving at random (Poisson) at `rate` a second, one
        # subscriber. Each is the outbox row an item write makes (without the item: the
        # bench process has the CPU to keep the rate); many overlap, as in production.
        serial = 10_000
        chance = random.Random(22)  # the same arrivals every run
        for rate in rates:
            arrived = {}
            one = Subscriber(ws_url, tokens.access_token, arrived)
            tasks.append(asyncio.create_task(one.run()))
            await one.ready.wait()
            await asyncio.sleep(0.5)
            committed = {}
            count = int(rate * rate_seconds)
            start = time.perf_counter()
            due = start
            writes: list[asyncio.Task[None]] = []
            for number in range(serial, serial + count):
                due += chance.expovariate(rate)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                writes.append(asyncio.create_task(append(number, committed)))
            serial += count
            await asyncio.gather(*writes)
            achieved = len(committed) / (time.perf_counter() - start)
            await asyncio.sleep(2.0)
            latencies = [(arrived[n][0] - t) * 1000 for n, t in committed.items() if n in arrived]
            figures.update(
                {
                    f"steady{rate}_commits_per_s": achieved,
                    f"steady{rate}_events": len(committed),
                    f"steady{rate}_received": len(latencies),
                    f"steady{rate}_p50_ms": statistics.median(latencies),
                    f"steady{rate}_p90_ms": percentile(latencies, 0.90),
                    f"steady{rate}_p95_ms": percentile(latencies, 0.95),
                    f"steady{rate}_p99_ms": percentile(latencies, 0.99),
                    f"steady{rate}_max_ms": max(latencies),
                }
            )
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            tasks.clear()
        if not subscribers:
            return figures
        await asyncio.sleep(1.0)

        # 3. Many subscribers on the one process.
        figures["rss_idle_mib"] = rss_mib(server.pid)
        arrived = {}
        many = [Subscriber(ws_url, tokens.access_token, arrived) for _ in range(subscribers)]
        for start in range(0, subscribers, 20):
            batch = many[start : start + 20]
            tasks.extend(asyncio.create_task(s.run()) for s in batch)
            await asyncio.gather(*(s.ready.wait() for s in batch))
        await asyncio.sleep(2.0)
        figures["rss_subscribed_mib"] = rss_mib(server.pid)
        cpu_before = cpu_seconds(server.pid)
        committed = {}
        base = 100_000
        for number in range(base, base + fan_events):
            await write(number, committed)
            await asyncio.sleep(0.25)
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and sum(len(v) for v in arrived.values()) < (
            fan_events * subscribers
        ):
            await asyncio.sleep(0.1)
        cpu_used = cpu_seconds(server.pid) - cpu_before
        figures["rss_after_mib"] = rss_mib(server.pid)
        every = [(t - committed[n]) * 1000 for n, times in arrived.items() for t in times]
        last = [(max(times) - committed[n]) * 1000 for n, times in arrived.items()]
        figures.update(
            subscribers=subscribers,
            fan_events=fan_events,
            deliveries=len(every),
            deliveries_expected=fan_events * subscribers,
            fan_p50_ms=statistics.median(every),
            fan_p99_ms=percentile(every, 0.99),
            fan_last_p50_ms=statistics.median(last),
            fan_last_p99_ms=percentile(last, 0.99),
            cpu_ms_per_event=cpu_used * 1000 / fan_events,
            cpu_us_per_delivery=cpu_used * 1e6 / max(len(every), 1),
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.terminate()
        server.wait(timeout=60)
        await database.dispose()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rates", default="25,100", help="commits per second, comma-separated")
    parser.add_argument("--rate-seconds", type=float, default=15.0)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--soak-minutes", type=float, default=0, help="only the soak, if > 0")
    parser.add_argument("--soak-subscribers", type=int, default=100)
    parser.add_argument("--soak-rate", type=float, default=5, help="events a second")
    parser.add_argument("--fan-events", type=int, default=50)
    args = parser.parse_args(argv)
    rates = [int(rate) for rate in args.rates.split(",") if rate.strip()]
    figures = asyncio.run(
        measure(
            args.events,
            rates,
            args.rate_seconds,
            args.subscribers,
            args.fan_events,
            args.soak_minutes,
            args.soak_subscribers,
            args.soak_rate,
        )
    )
    print(json.dumps({**stamp(), **{k: round(v, 2) for k, v in figures.items()}}, indent=2))


def stamp() -> dict[str, Any]:
    """When, on which commit, and how busy the machine was (it is often shared)."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
