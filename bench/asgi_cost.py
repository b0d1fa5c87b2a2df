"""Tandem's own CPU per request on the bench's four paths, in one process, without HTTP.

    .venv/bin/python -m bench.asgi_cost [--requests 2000] [--batches 6] [--ref main]

Calls the ASGI app (tandem.app.create_app, production settings, the limiter on as
in `make bench`) directly with a hand-made scope, one request after another, on the
database `make bench` seeded (run that once first), and prints the process CPU per
request (asyncpg's client side included; PostgreSQL's own time, uvicorn's and the
load generator's are not). Every answer is checked to be a 200 with a JSON body.

With `--ref REV`, a second child process runs `git archive REV`'s tandem/ the same
way, and the two alternate batch by batch, so both see the same machine: the
figure to compare code changes by on a shared machine, where req/s means little.
The first batch of each side warms caches and is not counted.

With `--setting NAME=VALUE` (repeatable), the second child runs this same tree with
those settings in its environment instead: what one setting costs, e.g. the request
log (`--setting REQUEST_LOG=false`), measured the same alternating way.

With `--floor`, the second child runs bench/floor.py's app (the hand-written floor of
`make bench`) the same way: floor ÷ Tandem CPU per request, without uvicorn's share,
which both pay alike under `make bench`.

With `--concurrency N`, each batch keeps N requests in flight, as `make bench`'s 32
connections do, instead of one after another: what depends on how much the requests in
flight hold between them (the garbage collector's young generation) shows only so.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
from typing import Any

from bench.seed import DATA_DIR, DATABASE, PRINCIPAL_ID, ROOT
from bench.targets import Target, benchmark_targets

SECRET = "asgi-cost-Zq8rT2vLw9XmB4nK7pD3sF6hJ1cY5gA0eU"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Driver:
    """One app, its lifespan running, and a request loop over a target."""

    def __init__(self) -> None:
        self.app: Any = None
        self.token = ""
        self.item_ids: list[int] = []

    async def start(self, *, floor: bool = False) -> None:
        import asyncpg

        from tandem.app import create_app
        from tandem.config import Settings
        from tandem.domain.auth.tokens import AccessTokenCodec
        from tandem.domain.principal import LOGIN_SCOPES
        from tandem.persistence import embedded

        url = embedded.start(DATA_DIR).url(DATABASE)
        settings = Settings(
            database_url=url,
            secret_key=SECRET,
            tandem_env="production",
            rate_limit="1000000000/hour",
            log_level="warning",
            serve_worker=False,
            public_url="https://tandem.example.com",
            metrics_token="asgi-cost-metrics-Rk29xVt7Lq",
            smtp_host="127.0.0.1",
            mail_from="Tandem <bench@example.com>",
        )
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            family = await connection.fetchval(
                "SELECT id FROM token_families WHERE user_id = $1 LIMIT 1", PRINCIPAL_ID
            )
            rows = await connection.fetch(
                "SELECT id FROM items WHERE status <> 'draft' AND owner_id <> $1 "
                "ORDER BY id LIMIT 64",
                PRINCIPAL_ID,
            )
        finally:
            await connection.close()
        if family is None:
            raise SystemExit("asgi_cost: no seeded bench database; run `make bench` once first")
        self.item_ids = [row["id"] for row in rows]
        codec = AccessTokenCodec(
            keys=[SECRET],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=3600,
        )
        self.token = codec.issue(user_id=PRINCIPAL_ID, scopes=LOGIN_SCOPES, family_id=family).token
        if floor:
            os.environ.update(
                DATABASE_URL=url,
                SECRET_KEY=SECRET,
                JWT_ISSUER=settings.jwt_issuer,
                JWT_AUDIENCE=settings.jwt_audience,
            )
            from bench.floor import app as floor_app

            self.app = floor_app
        else:
            self.app = create_app(settings)
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()

    async def stop(self) -> None:
        await self._lifespan.__aexit__(None, None, None)

    def scopes(self, target: Target) -> list[tuple[dict[str, Any], bytes]]:
        requests = []
        for value in target.values or ("",):
            path, _, query = target.path_for(value).partition("?")
            body = target.body_for(value) if target.body else b""
            headers = [
                (b"host", b"127.0.0.1:8000"),
                (b"authorization", f"Bearer {self.token}".encode()),
                (b"accept", b"*/*"),
            ]
            if body:
                headers += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
            scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "method": target.method,
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": query.encode(),
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 50000),
                "server": ("127.0.0.1", 8000),
            }
            requests.append((scope, body))
        return requests

    async def one(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app({**scope, "headers": list(scope["headers"])}, receive, send)
        return status, b"".join(chunks)

    async def batch(self, target: Target, count: int, concurrency: int = 1) -> float:
        """CPU seconds for `count` requests, `concurrency` of them in flight at a time."""
        requests = self.scopes(target)

        async def run(first: int) -> None:
            for number in range(first, count, concurrency):
                scope, body = requests[number % len(requests)]
                status, answer = await self.one(scope, body)
                if status != 200 or b'"errors"' in answer[:12]:
                    raise SystemExit(
                        f"asgi_cost: {target.name} answered {status}: {answer[:300]!r}"
                    )

        started = _cpu()
        if concurrency == 1:
            await run(0)
        else:
            await asyncio.gather(*(run(first) for first in range(concurrency)))
        return _cpu() - started


def child(names: list[str], requests: int, *, floor: bool = False, concurrency: int = 1) -> None:
    """Read 'run <batch>' lines on stdin, answer each with one JSON line of CPU per request."""

    async def main() -> None:
        driver = Driver()
        await driver.start(floor=floor)
        targets = {t.name: t for t in benchmark_targets(driver.item_ids)}
        loop = asyncio.get_running_loop()
        print(json.dumps({"ready": True}), flush=True)
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line.strip():
                    break
                spent = {}
                for name in names:
                    seconds = await driver.batch(targets[name], requests, concurrency)
                    spent[name] = 1e6 * seconds / requests
                print(json.dumps(spent), flush=True)
        finally:
            await driver.stop()

    import uvloop  # as the bench's servers run

    uvloop.run(main())


def _spawn(
    names: list[str],
    requests: int,
    env: dict[str, str],
    cwd: str,
    *,
    floor: bool = False,
    concurrency: int = 1,
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench.asgi_cost", "--child", "--requests", str(requests)]
    command += ["--concurrency", str(concurrency)]
    if floor:
        command.append("--floor")
    for name in names:
        command += ["--only", name]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command,
        cwd=cwd,
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready = process.stdout.readline()
    if not ready.strip():
        raise SystemExit("asgi_cost: a child failed to start")
    return process


def _round(process: subprocess.Popen[str]) -> dict[str, float]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("run\n")
    process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise SystemExit("asgi_cost: a child died")
    result: dict[str, float] = json.loads(line)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.asgi_cost", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="per path and batch")
    parser.add_argument("--batches", type=int, default=6, help="counted, per side")
    parser.add_argument("--only", action="append", default=[], help="a path name; repeatable")
    parser.add_argument("--ref", help="also run this revision's tandem/, alternating")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also run this tree with these settings, alternating; repeatable",
    )
    parser.add_argument(
        "--floor", action="store_true", help="also run bench/floor.py's app, alternating"
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="requests in flight at a time (bench: 32)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.only or [t.name for t in benchmark_targets([1])]
    if args.child:
        child(names, args.requests, floor=args.floor, concurrency=args.concurrency)
        return

    from bench.run import source_of

    sides: dict[str, subprocess.Popen[str]] = {}
    sources = []
    try:
        spawn = functools.partial(_spawn, names, args.requests, concurrency=args.concurrency)
        sides["working tree"] = spawn({}, str(ROOT))
        settings = dict(pair.split("=", 1) for pair in args.setting)
        if settings:
            other = " ".join(args.setting)
            sides[other] = spawn(settings, str(ROOT))
        elif args.floor:
            sides["floor"] = spawn({}, str(ROOT), floor=True)
        elif args.ref:
            source = source_of(args.ref)
            sources.append(source)
            # Run from the exported tree so its tandem/ is imported; bench/ comes from ROOT.
            sides[args.ref] = spawn(source.env(), str(source.path))
        spent: dict[str, dict[str, list[float]]] = {side: {n: [] for n in names} for side in sides}
        order = list(sides)
        for batch in range(args.batches + 1):
            for side in order if batch % 2 == 0 else order[::-1]:
                result = _round(sides[side])
                if batch:  # the first batch warms caches
                    for name, value in result.items():
                        spent[side][name].append(value)
            print(f"batch {batch} done", file=sys.stderr, flush=True)
    finally:
        for process in sides.values():
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=60)
        for source in sources:
            if source.path is not None:
                import shutil

                shutil.rmtree(source.path, ignore_errors=True)
    print("| path | " + " | ".join(f"{side} µs/req (median; range)" for side in sides) + " |")
    print("| --- |" + " ---: |" * len(sides))
    for name in names:
        cells = []
        for side in sides:
            values = spent[side][name]
            cells.append(
                f"{statistics.median(values):.0f} ({min(values):.0f} to {max(values):.0f})"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")
    if len(sides) == 2:
        other = order[1]
        for name in names:
            mine = statistics.median(spent["working tree"][name])
            theirs = statistics.median(spent[other][name])
            print(f"{name}: working tree {mine / theirs - 1:+.1%} against {other}")
            if other == "floor":
                ratios = sorted(
                    f / t for f, t in zip(spent["floor"][name], spent["working tree"][name])
                )
                print(
                    f"{name}: floor ÷ working tree {theirs / mine:.2f} "
                    f"(batch by batch {ratios[0]:.2f} to {ratios[-1]:.2f})"
                )


if __name__ == "__main__":
    main()
