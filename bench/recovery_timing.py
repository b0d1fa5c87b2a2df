"""Password recovery's time for a known email against an unknown one, through the ASGI app.

    .venv/bin/python -m bench.recovery_timing [--pairs 300]

A fresh database on the bench's embedded PostgreSQL (./.tandem/bench/), 50 accounts,
then `POST /api/v1/auth/password-recovery` alternating a known and an unknown address
(the first 20 warm the caches). Reports each side's median and p95, and in how many
consecutive pairs the known one was the slower, and the median of the
pairs' differences (known minus unknown). No worker runs: what is measured is the
request, which queues the mail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.seed import DATA_DIR, ROOT

SECRET = "bench-Vq3x9LmR2kTzY8pWc4nHs7dJf1bGa6e"
ACCOUNTS = 50


async def measure(pairs: int) -> dict[str, Any]:
    import httpx

    from tandem.app import create_app, services_for
    from tandem.config import Settings
    from tandem.domain.users.commands import RegisterUser
    from tandem.persistence import embedded, migrate
    from tandem.persistence.counters import MemoryCounters
    from tandem.persistence.database import Database

    url = await asyncio.to_thread(
        lambda: embedded.start(DATA_DIR).ensure_database("tandem_bench_recovery", fresh=True)
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
    app = create_app(settings, services=services)
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    try:
        for number in range(ACCOUNTS):
            await services.users.register(
                RegisterUser(
                    email=f"known{number}@example.com", name=f"Known {number}", password="pw-12345678"
                ),
                welcome=False,
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for number in range(pairs * 2 + 20):
                kind = "known" if number % 2 else "unknown"
                email = (
                    f"known{number % ACCOUNTS}@example.com"
                    if kind == "known"
                    else f"nobody{number}@example.com"
                )
                started = time.perf_counter()
                response = await client.post(
                    "/api/v1/auth/password-recovery", json={"email": email}
                )
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 202, response.text
                if number >= 20:
                    timings[kind].append(elapsed)
    finally:
        await database.dispose()
    known, unknown = timings["known"], timings["unknown"]
    slower = sum(k > u for k, u in zip(known, unknown, strict=False))

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median_ms": round(statistics.median(values), 2),
            "p95_ms": round(ordered[round(0.95 * (len(ordered) - 1))], 2),
        }

    return {
        "pairs": len(known),
        "known": summary(known),
        "unknown": summary(unknown),
        "known_slower_in_pairs": f"{slower} of {len(known)}",
        "median_pair_difference_ms": round(
            statistics.median(k - u for k, u in zip(known, unknown, strict=False)), 3
        ),
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.pairs)), indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
