"""Instructions per request on the bench's paths, counted by callgrind: the one figure a
shared machine cannot move.

    .venv/bin/python -m bench.instructions graphql-item [--requests 400] [--ref REV]

Runs bench/asgi_cost.py's in-process driver (the app called directly, production
settings, on the database `make bench` seeded) under `valgrind --tool=callgrind`, warms
it with 300 requests, and counts only the measured requests: they run inside
`operator.call`, and callgrind collects only inside that function
(`--collect-atstart=no --toggle-collect=_operator_call`). Counting a long run less a short
one instead also counts start-up's waits on the database, which moved results by ±5%.
With `--ref`, `git archive REV`'s tandem/ is counted the same way, after this tree.
A step under about 2% is still within what one count can tell (hash seeds, request ids).
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile

from bench.seed import ROOT

WARM_UP = 300


def child(name: str, requests: int) -> None:
    """The driver, run under callgrind: warm up, then `requests` inside `operator.call`."""
    from bench.asgi_cost import Driver
    from bench.targets import benchmark_targets

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    driver = Driver()
    loop.run_until_complete(driver.start())
    target = {t.name: t for t in benchmark_targets(driver.item_ids)}[name]
    scopes = driver.scopes(target)

    async def run(count: int) -> None:
        for number in range(count):
            scope, body = scopes[number % len(scopes)]
            status, answer = await driver.one(scope, body)
            if status != 200 or b'"errors"' in answer[:12]:
                raise SystemExit(f"instructions: {name} answered {status}: {answer[:300]!r}")

    loop.run_until_complete(run(WARM_UP))
    operator.call(loop.run_until_complete, run(requests))
    loop.run_until_complete(driver.stop())


def count(name: str, requests: int, cwd: str, env: dict[str, str]) -> int:
    """Instructions per request of the tree at `cwd`."""
    if shutil.which("valgrind") is None:
        raise SystemExit("instructions: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=_operator_call",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            name,
            "--requests",
            str(requests),
        ]
        subprocess.run(  # noqa: S603 - valgrind on our own interpreter and module
            command,
            cwd=cwd,
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open(out, encoding="utf-8") as counts:
            for line in counts:
                found = re.match(r"(?:summary|totals): (\d+)", line)
                if found:
                    return int(found.group(1)) // requests
    raise SystemExit("instructions: callgrind wrote no total")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("name", help="a path of bench/targets.py: graphql-item, rest-list, …")
    parser.add_argument("--requests", type=int, default=400, help="counted, after 300 warm")
    parser.add_argument("--ref", help="also count this revision's tandem/")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.name, args.requests)
        return
    mine = count(args.name, args.requests, str(ROOT), {"PYTHONPATH": str(ROOT)})
    print(f"{args.name}: working tree {mine:,} instructions a request")
    if args.ref:
        from bench.run import source_of

        source = source_of(args.ref)
        try:
            # Run from the exported tree so its tandem/ is imported; bench/ comes from ROOT.
            theirs = count(args.name, args.requests, str(source.path), source.env())
        finally:
            if source.path is not None:
                shutil.rmtree(source.path, ignore_errors=True)
        print(f"{args.name}: {args.ref} {theirs:,} instructions a request")
        print(f"{args.name}: working tree {mine / theirs - 1:+.1%} against {args.ref}")


if __name__ == "__main__":
    main()
