"""`make bench`, part two: the connection path, measured alone (issue 9).

    .venv/bin/python -m bench.connections [--duration 7] [--clients 16,32,48,64]

Oversubscription, on the bench's seeded database (bench/seed.py): one Tandem with
a pool of N connections (`--pool`, default 16) and a REST list
(`GET /api/v1/items?size=20`) driven by 16, 32, 48 and 64 clients: p50, p99, the
maximum, and any non-2xx answer (a 503 means a request waited past
DB_ACQUIRE_TIMEOUT_SECONDS). Fair means: p99 at 3N clients within three times p99
at N, and no 503.

Results go to bench/results/connections-*.json and the markdown to stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from bench.run import (
    RESULTS,
    _hold_embedded_server,
    drive,
    loadgen_kind,
    log,
    running,
    seed_with,
    source_of,
    start_server,
    stop_server,
)
from bench.targets import Target

LIST_20 = Target(
    name="rest-list-20",
    label="REST `GET /items?size=20`",
    method="GET",
    path="/api/v1/items?size=20",
)


def oversubscription(options: argparse.Namespace, seeded: Any, source: Any) -> dict[str, Any]:
    server = start_server(
        "tandem",
        seeded=seeded,
        database_url=seeded.database_url,
        extra_env={"DB_POOL_SIZE": str(options.pool)},
        tag=f"pool-{options.pool}",
        source=source,
    )
    results: dict[str, Any] = {}
    try:
        with running([server]):
            drive(
                LIST_20,
                port=server.port,
                token=seeded.token,
                seconds=2,
                connections=16,
                loadgen=options.loadgen,
            )
            for clients in options.clients:
                result = drive(
                    LIST_20,
                    port=server.port,
                    token=seeded.token,
                    seconds=options.duration,
                    connections=clients,
                    loadgen=options.loadgen,
                )
                results[str(clients)] = {
                    "requests": result["requests"],
                    "rps": result["requests"] / (result["duration_us"] / 1e6),
                    "p50_ms": result["p50_us"] / 1000,
                    "p99_ms": result["p99_us"] / 1000,
                    "max_ms": result.get("max_us", 0) / 1000,
                    "errors": result["errors"],
                }
                log(
                    f"{clients:3} clients, pool {options.pool}: p50 "
                    f"{results[str(clients)]['p50_ms']:.1f} ms, p99 "
                    f"{results[str(clients)]['p99_ms']:.1f} ms, errors {result['errors']}"
                )
    finally:
        stop_server(server)
    return results


def markdown(report: dict[str, Any]) -> str:
    lines = ["## The connection path (bench/connections.py)", ""]
    over = report.get("oversubscription")
    if over:
        pool = report["config"]["pool"]
        lines += [
            f"Pool of {pool} connections, `GET /api/v1/items?size=20`:",
            "",
            "| clients | req/s | p50 | p99 | max | non-2xx or errors |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for clients, row in over.items():
            errors = sum(row["errors"].values())
            lines.append(
                f"| {clients} | {row['rps']:.0f} | {row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms"
                f" | {row['max_ms']:.0f} ms | {errors} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.connections", description=__doc__)
    parser.add_argument("--duration", type=int, default=7)
    parser.add_argument("--pool", type=int, default=16)
    parser.add_argument("--clients", default="16,32,48,64")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--items", type=int, default=20_000)
    options = parser.parse_args(argv)
    options.clients = [int(part) for part in options.clients.split(",")]
    options.loadgen = loadgen_kind(options.loadgen)
    RESULTS.mkdir(parents=True, exist_ok=True)
    source = source_of(None)
    _hold_embedded_server()
    seeded = seed_with(source, users=options.users, items=options.items)
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "duration": options.duration,
            "pool": options.pool,
            "clients": options.clients,
            "loadgen": options.loadgen,
        },
    }
    started = time.monotonic()
    report["oversubscription"] = oversubscription(options, seeded, source)
    report["seconds"] = round(time.monotonic() - started, 1)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    table = markdown(report)
    for name in (stamp, "latest"):
        (RESULTS / f"connections-{name}.json").write_text(json.dumps(report, indent=2))
        (RESULTS / f"connections-{name}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
