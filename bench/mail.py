"""Mail figures: commit-to-SMTP latency, and recovery's timing for known and unknown emails.

    .venv/bin/python -m bench.mail [--mails 50] [--spacing 0.2] [--recoveries 300]

One `tandem worker` process sending over SMTP to an aiosmtpd server on loopback (in
this process, its own thread), against a fresh database on the bench's embedded
PostgreSQL (./.tandem/bench/).

- Latency: accounts are registered one at a time, `--spacing` seconds apart (mail is
  rare: this measures latency, not throughput), through the domain's
  use case (its transaction queues the welcome mail); each mail is timed from the
  moment the commit returned to the moment the SMTP server had the whole message
  (the worker is woken by the commit's NOTIFY). Median, p95, max.
- Recovery: `POST /api/v1/auth/password-recovery` through the ASGI app, alternating a
  known and an unknown address; the time of each answer, median and p95 of each.
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
from pathlib import Path
from typing import Any

from bench.seed import DATA_DIR, ROOT

SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "max_ms": round(max(values), 2),
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(mails: int, spacing: float, recoveries: int) -> dict[str, Any]:
    import httpx

    from tandem.app import create_app, services_for
    from tandem.config import Settings
    from tandem.domain.users.commands import RegisterUser
    from tandem.persistence import embedded, migrate
    from tandem.persistence.counters import MemoryCounters
    from tandem.persistence.database import Database
    from tests.mail.smtp import SmtpServer

    url = await asyncio.to_thread(
        lambda: embedded.start(DATA_DIR).ensure_database("tandem_bench_mail", fresh=True)
    )
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        data_dir=DATA_DIR,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit="off",
        password_recovery_max_per_account=10**9,
        password_recovery_max_per_address=10**9,
    )
    database = Database(url, pool_size=4)
    services = services_for(settings, database, counters=MemoryCounters())
    smtp = SmtpServer().start()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "warning",
        "DATA_DIR": str(DATA_DIR),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "Tandem <bench@example.com>",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", "worker"], env=environment, cwd=ROOT
    )
    try:
        async with database.reader() as uow:
            for _ in range(600):
                listening = await uow.connection.raw.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tandem-listen'"
                    " AND datname = current_database()"
                )
                if listening:
                    break
                await asyncio.sleep(0.1)
        committed: dict[str, float] = {}
        cpu_before = cpu_seconds(worker.pid)
        for number in range(mails):
            email = f"latency{number}@example.com"
            await services.users.register(
                RegisterUser(email=email, name=f"Latency {number}", password="bench-password-1")
            )
            committed[email] = time.time()
            await asyncio.sleep(spacing)
        latencies = []
        for email, at in committed.items():
            [received] = await smtp.wait_for(email, within=60)
            latencies.append((received.at - at) * 1000)
        worker_cpu_ms = (cpu_seconds(worker.pid) - cpu_before) * 1000 / mails

        app = create_app(settings, services=services)
        timings: dict[str, list[float]] = {"known": [], "unknown": []}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for number in range(recoveries * 2 + 20):
                kind = "known" if number % 2 else "unknown"
                email = f"latency{number % mails}@example.com"
                if kind == "unknown":
                    email = f"nobody{number}@example.com"
                started = time.perf_counter()
                response = await client.post(
                    "/api/v1/auth/password-recovery", json={"email": email}
                )
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 202, response.text
                if number >= 20:  # the first few warm the caches
                    timings[kind].append(elapsed)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        smtp.stop()
        await database.dispose()
    return {
        "commit_to_smtp": {"mails": len(latencies), **summary(latencies)},
        "worker_cpu_ms_per_mail": round(worker_cpu_ms, 2),
        "recovery_known": {"requests": len(timings["known"]), **summary(timings["known"])},
        "recovery_unknown": {"requests": len(timings["unknown"]), **summary(timings["unknown"])},
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mails", type=int, default=50)
    parser.add_argument("--spacing", type=float, default=0.2)
    parser.add_argument("--recoveries", type=int, default=300)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.mails, args.spacing, args.recoveries))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
