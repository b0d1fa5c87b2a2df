"""Webhook delivery figures: commit-to-delivery latency and deliveries per second.

    .venv/bin/python -m bench.webhooks [--latency-events 400] [--burst-events 3000]

One `tandem worker` process (default settings: 16 deliveries in flight), a
receiver (uvicorn + httptools, answering 200 at once) and the writer, all on
loopback, against a fresh database on the bench's embedded PostgreSQL
(./.tandem/bench/, as `make bench` uses).

- Latency: the writer creates items one at a time, 20 ms apart, through the
  domain's use case; each is timed from the moment its transaction's commit
  returned to the moment the receiver had the whole request. p50 and p99.
- Throughput: a burst of events is written while their deliveries are held
  back (due an hour later), then all are made due at once and the worker is
  woken: deliveries per second from then until the receiver has them all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import uvicorn

from bench.seed import DATA_DIR, ROOT

SECRET = "bench-secret-key-that-is-long-enough-0123456789"


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.count = 0
        self.all_in = asyncio.Event()
        self.expected = 0

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        now = time.perf_counter()
        item_id = json.loads(body)["data"]["item"]["id"]
        self.arrived.setdefault(item_id, now)
        self.count += 1
        if self.expected and len(self.arrived) >= self.expected:
            self.all_in.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(latency_events: int, burst_events: int) -> dict[str, float]:
    from tandem.app import services_for
    from tandem.config import Settings
    from tandem.domain.items.commands import CreateItem
    from tandem.domain.principal import LOGIN_SCOPES, Principal
    from tandem.domain.users.commands import RegisterUser
    from tandem.domain.webhooks.commands import CreateWebhook
    from tandem.persistence import embedded, migrate
    from tandem.persistence.counters import MemoryCounters
    from tandem.persistence.database import Database

    url = await asyncio.to_thread(
        lambda: embedded.start(DATA_DIR).ensure_database("tandem_bench_webhooks", fresh=True)
    )
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        data_dir=DATA_DIR,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
    )
    database = Database(url, pool_size=4)
    services = services_for(settings, database, counters=MemoryCounters())

    receiver = Receiver()
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
        access_log=False, http="httptools",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    user = await services.users.register(
        RegisterUser(email="bench@example.com", name="Bench", password="bench-password-1"),
        role="member",
    )
    principal = Principal(user_id=user.id, role="member", scopes=LOGIN_SCOPES, token_id=uuid.uuid4())
    await services.webhooks.create(
        principal, CreateWebhook(url=f"http://127.0.0.1:{port}/hooks", events=["*"])
    )

    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "LOG_LEVEL": "warning",
                   "DATA_DIR": str(DATA_DIR)}
    worker = subprocess.Popen([sys.executable, "-m", "tandem.cli", "worker"], env=environment,
                              cwd=ROOT)
    try:
        async with database.reader() as uow:
            for _ in range(600):
                listening = await uow.connection.raw.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tandem-listen'"
                )
                if listening:
                    break
                await asyncio.sleep(0.1)

        committed: dict[int, float] = {}
        for number in range(latency_events):
            item = await services.items.create(principal, CreateItem(title=f"Latency {number}"))
            committed[item.id] = time.perf_counter()
            await asyncio.sleep(0.02)
        receiver.expected = len(committed)
        if len(receiver.arrived) < receiver.expected:
            await asyncio.wait_for(receiver.all_in.wait(), timeout=60)
        latencies = [(receiver.arrived[i] - t) * 1000 for i, t in committed.items()]

        async with database.transaction() as uow:  # hold the burst back while it is written
            await uow.connection.raw.execute(
                "ALTER TABLE webhook_deliveries ALTER COLUMN next_attempt_at "
                "SET DEFAULT now() + interval '1 hour'"
            )
        for number in range(burst_events):
            await services.items.create(principal, CreateItem(title=f"Burst {number}"))
        receiver.all_in.clear()
        receiver.expected = len(committed) + burst_events
        async with database.transaction() as uow:
            await uow.connection.raw.execute(
                "ALTER TABLE webhook_deliveries ALTER COLUMN next_attempt_at SET DEFAULT now()"
            )
        start = time.perf_counter()
        cpu_before = cpu_seconds(worker.pid)
        async with database.transaction() as uow:
            await uow.connection.raw.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending';"
                "NOTIFY tandem_jobs, 'webhooks'"
            )
        await asyncio.wait_for(receiver.all_in.wait(), timeout=600)
        elapsed = time.perf_counter() - start
        worker_cpu = cpu_seconds(worker.pid) - cpu_before
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.should_exit = True
        await serving
        await database.dispose()
    return {
        "latency_events": len(latencies),
        "latency_p50_ms": statistics.median(latencies),
        "latency_p99_ms": percentile(latencies, 0.99),
        "latency_max_ms": max(latencies),
        "burst_events": burst_events,
        "burst_seconds": elapsed,
        "deliveries_per_second": burst_events / elapsed,
        "worker_cpu_seconds": worker_cpu,
        "worker_cpu_ms_per_delivery": worker_cpu * 1000 / burst_events,
        "deliveries_per_worker_cpu_second": burst_events / worker_cpu if worker_cpu else 0.0,
        "load_average": os.getloadavg()[0],
        "duplicates": receiver.count - receiver.expected,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-events", type=int, default=400)
    parser.add_argument("--burst-events", type=int, default=3000)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.latency_events, args.burst_events))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
