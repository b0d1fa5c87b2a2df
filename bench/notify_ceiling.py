"""The NOTIFY ceiling: commits per second with and without `pg_notify` in the transaction.

    .venv/bin/python -m bench.notify_ceiling [--writers 1,4,8,16,32,64] [--seconds 3]

PostgreSQL holds one cluster-wide lock from a notifying transaction's pre-commit to its
end, WAL flush included, so notifying commits cannot share a flush. Each writer is one
asyncpg connection committing one insert per transaction (an outbox-like row), in a
loop, for `--seconds`; "notify" adds `pg_notify` to the same statement, as the outbox's
append did until the wake-ups moved out of it; "coalesced" is what Tandem does now: the
plain insert, and after each commit a wake-up handed to `tandem.persistence.wakeups`
(one NOTIFY round per 5 ms at most, on a connection of its own, outside the writers'
transactions), with a LISTENer counting what arrives. On the bench's embedded
PostgreSQL; `fsync` and `synchronous_commit` are printed with the figures (both must be
on for the figure to mean anything).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.seed import DATA_DIR, ROOT

PLAIN = "INSERT INTO notify_probe (payload) VALUES ($1)"
NOTIFYING = (
    "WITH written AS (INSERT INTO notify_probe (payload) VALUES ($1) RETURNING payload) "
    "SELECT pg_notify('notify_probe', payload) FROM written"
)


async def run(dsn: str, writers: int, seconds: float, statement: str, wakeups: Any = None) -> float:
    connections = [await asyncpg.connect(dsn) for _ in range(writers)]
    counts = [0] * writers
    stop = time.perf_counter() + seconds

    async def write(number: int) -> None:
        connection = connections[number]
        while time.perf_counter() < stop:
            await connection.execute(statement, "evt_0123456789abcdef0123456789")
            counts[number] += 1
            if wakeups is not None:
                wakeups.send([("notify_probe", "")])

    began = time.perf_counter()
    await asyncio.gather(*(write(number) for number in range(writers)))
    elapsed = time.perf_counter() - began
    for connection in connections:
        await connection.close()
    return sum(counts) / elapsed


async def measure(writer_counts: list[int], seconds: float) -> dict[str, object]:
    from tandem.persistence import embedded
    from tandem.persistence.database import asyncpg_dsn

    server = await asyncio.to_thread(embedded.start, DATA_DIR)
    url = await asyncio.to_thread(server.ensure_database, "tandem_bench_notify", fresh=True)
    dsn = asyncpg_dsn(url)
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        "CREATE TABLE notify_probe (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
    )
    figures: dict[str, object] = {
        "fsync": await setup.fetchval("SHOW fsync"),
        "synchronous_commit": await setup.fetchval("SHOW synchronous_commit"),
        "server_version": await setup.fetchval("SHOW server_version"),
    }
    await setup.close()
    from tandem.persistence.wakeups import Wakeups

    listener = await asyncpg.connect(dsn)
    heard: list[str] = []
    await listener.add_listener("notify_probe", lambda *args: heard.append(args[-1]))
    rows = []
    for writers in writer_counts:
        plain = await run(dsn, writers, seconds, PLAIN)
        notifying = await run(dsn, writers, seconds, NOTIFYING)
        wakeups = Wakeups(dsn)
        heard.clear()
        coalesced = await run(dsn, writers, seconds, PLAIN, wakeups)
        await wakeups.close()
        rows.append(
            {
                "writers": writers,
                "plain_commits_per_s": round(plain),
                "notify_commits_per_s": round(notifying),
                "coalesced_commits_per_s": round(coalesced),
                "ratio": round(notifying / plain, 2),
                "coalesced_ratio": round(coalesced / plain, 2),
                "wake_ups_per_s": round(wakeups.rounds / seconds),
                "wake_ups_heard": len(heard),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    await listener.close()
    figures["rows"] = rows
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--writers", default="1,4,8,16,32,64")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    counts = [int(value) for value in args.writers.split(",") if value.strip()]
    print(json.dumps(asyncio.run(measure(counts, args.seconds)), indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
