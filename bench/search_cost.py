"""Search's worst case: what it costs in time and in rate-limit points, on both faces.

    .venv/bin/python -m bench.search_cost [--items 600] [--rounds 3]

600 items whose descriptions are 10 KB of the most frequent English words, in a
fresh database on the bench's embedded PostgreSQL (./.tandem/bench/); one member
searches them for ten frequent words, best match first (`sort=relevance`):

- REST: `GET /api/v1/items?q=...&sort=relevance&size=100`, its time and the points it
  took from the caller's budget (`X-RateLimit-Used` before and after);
- GraphQL: one operation with four aliased `items(filter: {q}, orderBy: RELEVANCE)`,
  its time and its `extensions.cost.requestedQueryCost`.

Each answer's status is reported too: once search has a timeout of its own, the
worst case answers 503 (`UNAVAILABLE`) within that timeout instead of holding its
connection for seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.seed import DATA_DIR, ROOT

SECRET = "bench-Secret-key-that-is-long-enough-0123456789-xyz"
FREQUENT = (
    "the of and to in is you that it he was for on are as with his they at be this have from"
    " or one had by word but not what all were we when your can said there use an each which"
    " she do how their if will up other about out many then them these so some her would make"
    " like him into time has look two more write go see number no way could people my than"
    " first water been call who oil its now find long down day did get come made may part"
).split()
QUERY = "the and that with have from this they were which"  # ten of the most frequent


def description(rng: random.Random, size: int = 10_000) -> str:
    words: list[str] = []
    length = 0
    while length < size - 12:
        word = rng.choice(FREQUENT)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


async def measure(items: int, rounds: int) -> dict[str, Any]:
    import httpx

    from tandem.app import create_app, services_for
    from tandem.config import Settings
    from tandem.persistence import embedded, migrate
    from tandem.persistence.counters import MemoryCounters
    from tandem.persistence.database import Database

    url = await asyncio.to_thread(
        lambda: embedded.start(DATA_DIR).ensure_database("tandem_bench_search", fresh=True)
    )
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        data_dir=DATA_DIR,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        rate_limit="100000/hour",
    )
    database = Database(url, pool_size=8)
    services = services_for(settings, database, counters=MemoryCounters())
    app = create_app(settings, services=services)
    rng = random.Random(20_261_207)
    figures: dict[str, Any] = {"items": items, "description_bytes": 10_000, "q": QUERY}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            email, password = "searcher@example.com", "bench-password-1"
            registered = await client.post(
                "/api/v1/auth/register",
                json={"email": email, "name": "Searcher", "password": password},
            )
            assert registered.status_code == 201, registered.text
            token = await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": email, "password": password},
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            for number in range(items):
                answer = await client.post(
                    "/api/v1/items",
                    json={"title": f"Item {number}", "description": description(rng)},
                    headers=headers,
                )
                assert answer.status_code == 201, answer.text
            async with database.reader() as uow:
                await uow.connection.raw.execute("VACUUM ANALYZE items")

            rest: list[tuple[float, int, int]] = []
            for _ in range(rounds):
                before = await client.get("/api/v1/items?size=1", headers=headers)
                used = int(before.headers["X-RateLimit-Used"])
                started = time.perf_counter()
                answer = await client.get(
                    "/api/v1/items",
                    params={"q": QUERY, "sort": "relevance", "size": 100},
                    headers=headers,
                )
                elapsed = time.perf_counter() - started
                rest.append(
                    (elapsed, int(answer.headers["X-RateLimit-Used"]) - used, answer.status_code)
                )
            aliases = "\n".join(
                f'  s{n}: items(first: 100, filter: {{q: "{QUERY}"}}, orderBy: RELEVANCE)'
                " { totalCount nodes { id title } }"
                for n in range(4)
            )
            document = "query FourSearches {\n" + aliases + "\n}"
            graphql: list[tuple[float, Any, int, list[str]]] = []
            for _ in range(rounds):
                started = time.perf_counter()
                answer = await client.post("/graphql", json={"query": document}, headers=headers)
                elapsed = time.perf_counter() - started
                body = answer.json()
                cost = body.get("extensions", {}).get("cost", {}).get("requestedQueryCost")
                codes = sorted(
                    {e.get("extensions", {}).get("code", "?") for e in body.get("errors") or []}
                )
                graphql.append((elapsed, cost, answer.status_code, codes))
    finally:
        await database.dispose()
    figures["rest_relevance_search"] = {
        "median_s": round(statistics.median(r[0] for r in rest), 3),
        "max_s": round(max(r[0] for r in rest), 3),
        "points": sorted({r[1] for r in rest}),
        "statuses": sorted({r[2] for r in rest}),
    }
    figures["graphql_four_aliased_searches"] = {
        "median_s": round(statistics.median(g[0] for g in graphql), 3),
        "max_s": round(max(g[0] for g in graphql), 3),
        "points": sorted({g[1] for g in graphql if g[1] is not None}),
        "statuses": sorted({g[2] for g in graphql}),
        "error_codes": sorted({code for g in graphql for code in g[3]}),
    }
    figures["load_average"] = os.getloadavg()[0]
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.items, args.rounds)), indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(ROOT)))
    main()
