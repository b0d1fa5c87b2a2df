"""`make bench`: Tandem against the floor app, same data, same SQL, same JSON, one worker each.

    .venv/bin/python -m bench.run [--duration 7] [--rounds 3] [--connections 16]
    .venv/bin/python -m bench.run --profile            # then profile Tandem with py-spy
    .venv/bin/python -m bench.run --no-measure --profile
    .venv/bin/python -m bench.run --ref HEAD          # a commit, not the working tree

Steps: seed a fresh database (bench/seed.py); start Tandem and the floor
(bench/floor.py) with uvicorn, one worker, uvloop + httptools, no access log;
check that both answer the same JSON; count SQL statements per request on the
wire (bench/wire.py); then for each round and each path, drive Tandem and the
floor in turn (the order alternates every round) with wrk, or the Python load
generator where wrk is missing, reading the server's CPU time from /proc.
Results go to bench/results/ (git-ignored) and the markdown table to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import interpreter, peer
from bench.flamegraph import COST_CENTRES, Profile, render_svg
from bench.seed import DATA_DIR, ROOT, Seeded
from bench.targets import Target, benchmark_targets, page_size_targets
from bench.wire import StatementCounter

RESULTS = ROOT / "bench" / "results"
# docs/flamegraphs/ holds past rounds: pass --profile-dir to add one.
FLAMEGRAPHS = RESULTS / "flamegraphs"
WRK_SCRIPT = ROOT / "bench" / "wrk.lua"
SERVERS = ("tandem", "floor")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PACKAGES = (
    "fastapi",
    "starlette",
    "strawberry-graphql",
    "graphql-core",
    "pydantic",
    "sqlalchemy",
    "asyncpg",
    "uvicorn",
    "uvloop",
    "httptools",
    "orjson",
    "pyjwt",
)

_started = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _started:5.0f}s] {message}", file=sys.stderr, flush=True)


# --- which Tandem -----------------------------------------------------------------------------


@dataclass
class Source:
    """Where Tandem's code comes from: the working tree, or `git archive` of a revision."""

    label: str
    path: Path | None = None  # None: the working tree (the editable install)

    def env(self) -> dict[str, str]:
        if self.path is None:
            return {}
        # PYTHONPATH comes before the editable install's finder, as long as the current
        # directory is not the repository (so Tandem's processes run from `path`).
        return {"PYTHONPATH": os.pathsep.join([str(self.path), str(ROOT)])}

    @property
    def cwd(self) -> Path:
        return self.path or ROOT


def source_of(ref: str | None) -> Source:
    commit = _git()["commit"]
    if ref is None:
        dirty = " + uncommitted changes in tandem/" if _git()["tandem_dirty"] else ""
        return Source(f"working tree at {commit}{dirty}")
    resolved = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--short", f"{ref}^{{commit}}"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if resolved.returncode != 0:
        raise SystemExit(f"bench: {ref!r} is not a revision of this repository")
    sha = resolved.stdout.strip()
    path = Path(tempfile.mkdtemp(prefix=f"tandem-bench-{sha}-"))
    archive = subprocess.run(  # noqa: S603
        ["git", "archive", "--format=tar", sha, "tandem"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(path, filter="data")
    return Source(f"commit {sha} ({ref}), exported with git archive", path)


def seed_with(source: Source, *, users: int, items: int) -> Seeded:
    """Seed in a child process that imports Tandem from `source` (migrations, token codec)."""
    finished = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.seed", "--users", str(users), "--items", str(items)],
        cwd=source.cwd,
        env={**os.environ, **source.env()},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(f"bench: seeding failed:\n{finished.stderr[-3000:]}")
    return Seeded(**json.loads(finished.stdout))


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(
    kind: str,
    *,
    seeded: Seeded,
    database_url: str,
    extra_env: dict[str, str],
    tag: str,
    source: Source,
    python: str | None = None,
) -> Server:
    """`python`: the servers' interpreter (bench/interpreter.py); this one by default."""
    app = ["tandem.app:create_app", "--factory"] if kind == "tandem" else ["bench.floor:app"]
    port = free_port()
    command = [
        python or sys.executable,
        "-m",
        "uvicorn",
        *app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": seeded.secret_key,
        "JWT_ISSUER": seeded.issuer,
        "JWT_AUDIENCE": seeded.audience,
        "TANDEM_ENV": "production",
        # What production requires besides the key (tandem/config.py); the bench sends no mail
        # and scrapes no metrics, so these only have to be valid.
        "PUBLIC_URL": "https://tandem.example.com",
        "METRICS_TOKEN": "bench-metrics-Rk29xVt7LqWm",
        "SMTP_HOST": "127.0.0.1",
        "MAIL_FROM": "Tandem <bench@example.com>",
        # The limiter runs and counts on every request, as issue 5 asks, with a budget no
        # run can spend: the contract's default (5000/hour) would answer 429 within seconds.
        "RATE_LIMIT": "1000000000/hour",
        "LOG_LEVEL": "warning",
        **(extra_env if kind == "tandem" else {}),
        **(source.env() if kind == "tandem" else {}),
    }
    log_path = RESULTS / "logs" / f"{kind}-{tag}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=source.cwd if kind == "tandem" else ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Server(kind, port, process, log_path)


def wait_ready(servers: list[Server], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for server in servers:
        while True:
            if server.process.poll() is not None:
                raise SystemExit(f"bench: {server.kind} exited at start-up:\n{server.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if call(server.port, "GET", "/healthz", timeout=2).status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {server.kind} is not ready:\n{server.log_tail()}")
            time.sleep(0.2)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        wait_ready(servers)
        yield servers
    finally:
        for server in servers:
            stop_server(server)


# --- HTTP, one request at a time --------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def call(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    token: str | None = None,
    timeout: float = 30,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def call_target(port: int, target: Target, token: str, value: str | None = None) -> Answer:
    value = target.first_value() if value is None else value
    body = target.body_for(value) if target.body else b""
    return call(port, target.method, target.path_for(value), body=body, token=token)


# --- CPU from /proc ---------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    # Fields after "pid (comm)": index 0 is field 3 (state), so field n is at n - 3.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads included."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU time all cores spent not idle, from the first line of /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    busy = sum(values[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / CLOCK_TICKS


def children_cpu_seconds() -> float:
    """CPU of this process's finished children: the load generator, once it has exited."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postmaster_pid(database_url: str) -> int | None:
    """The bench's own embedded postmaster: all its backends are ours; None for another server."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return None
    pid_file = DATA_DIR / "pgdata" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError):
        return int(pid_file.read_text().split()[0])
    return None


def postgres_cpu_seconds(postmaster: int | None) -> float | None:
    """CPU of the postmaster, its live children, and (cutime/cstime) the children that exited."""
    if postmaster is None:
        return None
    try:
        fields = _stat_fields(postmaster)
    except OSError:
        return None
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            child = _stat_fields(int(entry.name))
            if int(child[1]) == postmaster:
                ticks += int(child[11]) + int(child[12])
    return ticks / CLOCK_TICKS


class SessionCounter:
    """Connections opened to the bench database (pg_stat_database.sessions), read on demand.

    A backend reports its session when it exits, so the connections a pool opens and
    closes during a run are all counted; long-lived pooled ones were counted at warm-up.
    """

    def __init__(self, database_url: str, column: str = "sessions") -> None:
        import asyncio

        import asyncpg

        from bench.seed import asyncpg_dsn

        self._column = column  # another of pg_stat_database's counters (bench/replicas.py)
        self._loop = asyncio.new_event_loop()
        self._connection = self._loop.run_until_complete(asyncpg.connect(asyncpg_dsn(database_url)))

    def sessions(self) -> int:
        async def read() -> int:
            await self._connection.execute("SELECT pg_stat_clear_snapshot()")
            value = await self._connection.fetchval(
                f"SELECT {self._column} FROM pg_stat_database"  # noqa: S608 - our own column
                " WHERE datname = current_database()"
            )
            return int(value or 0)

        return self._loop.run_until_complete(read())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(self._connection.close())
        self._loop.close()


# --- load ----------------------------------------------------------------------------------


def loadgen_kind(requested: str) -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise SystemExit("bench: wrk is not installed (apt-get install wrk); try --loadgen python")
    return requested


def _load_command(
    target: Target, port: int, token: str, seconds: int, connections: int, loadgen: str
) -> list[str]:
    if loadgen == "wrk":
        return [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            f"http://127.0.0.1:{port}",
            "--",
            target.method,
            target.path,
            target.body,
            token,
            ",".join(target.values),
        ]
    spec = {
        "name": target.name,
        "label": target.label,
        "method": target.method,
        "path": target.path,
        "body": target.body,
        "values": list(target.values),
    }
    return [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--seconds",
        str(seconds),
        "--connections",
        str(connections),
        "--token",
        token,
        "--target",
        json.dumps(spec),
    ]


def drive(
    target: Target, *, port: int, token: str, seconds: int, connections: int, loadgen: str
) -> dict[str, Any]:
    command = _load_command(target, port, token, seconds, connections, loadgen)
    finished = subprocess.run(  # noqa: S603 - wrk or our own interpreter
        command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH-JSON "))
            return result
    raise SystemExit(f"bench: the load generator failed:\n{finished.stdout}\n{finished.stderr}")


@dataclass
class Run:
    target: str
    server: str
    round: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float
    db_cpu_seconds: float | None
    loadgen_cpu_seconds: float
    connections_opened: int | None
    other_cpu_seconds: float  # everything else on the machine: other work shares our cores
    errors: int


def measure(
    server: Server,
    target: Target,
    *,
    token: str,
    seconds: int,
    connections: int,
    loadgen: str,
    postmaster: int | None,
    sessions: SessionCounter | None,
    round_number: int,
) -> Run:
    sessions_before = sessions.sessions() if sessions else None
    cpu_before = cpu_seconds(server.pid)
    db_before = postgres_cpu_seconds(postmaster)
    busy_before = machine_busy_seconds()
    load_before, own_before = children_cpu_seconds(), own_cpu_seconds()
    result = drive(
        target,
        port=server.port,
        token=token,
        seconds=seconds,
        connections=connections,
        loadgen=loadgen,
    )
    cpu_after = cpu_seconds(server.pid)
    db_after = postgres_cpu_seconds(postmaster)
    busy = machine_busy_seconds() - busy_before
    loadgen = children_cpu_seconds() - load_before
    own = own_cpu_seconds() - own_before
    time.sleep(0.3)  # let the last closed connections report themselves
    opened = None if sessions is None or sessions_before is None else sessions.sessions()
    if server.process.poll() is not None:
        raise SystemExit(f"bench: {server.kind} died during a run:\n{server.log_tail()}")
    elapsed = result["duration_us"] / 1e6
    db = None if db_before is None or db_after is None else db_after - db_before
    other = busy - (cpu_after - cpu_before) - (db or 0.0) - loadgen - own
    return Run(
        target=target.name,
        server=server.kind,
        round=round_number,
        requests=result["requests"],
        seconds=round(elapsed, 3),
        rps=round(result["requests"] / elapsed, 1) if elapsed else 0.0,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        cpu_seconds=round(cpu_after - cpu_before, 3),
        db_cpu_seconds=None if db is None else round(db, 3),
        loadgen_cpu_seconds=round(loadgen, 3),
        connections_opened=None if opened is None else opened - (sessions_before or 0),
        other_cpu_seconds=round(max(0.0, other), 3),
        errors=sum(result["errors"].values()),
    )


# --- correctness and statement counts ------------------------------------------------------------


def graphql_available(server: Server, target: Target, token: str) -> tuple[bool, str]:
    answer = call_target(server.port, target, token)
    if answer.status in (404, 405):
        return False, f"Tandem answers {answer.status} on POST /graphql"
    document = answer.json()
    if answer.status != 200 or not isinstance(document, dict) or document.get("errors"):
        return False, f"Tandem's GraphQL answered {answer.status}: {answer.body[:200]!r}"
    return True, ""


def _comparable(target: Target, document: Any) -> Any:
    """The part both must agree on: the whole document on REST, `data` and `errors` on GraphQL.

    Tandem's GraphQL adds `extensions` (its query cost) that the floor does not compute.
    """
    if target.graphql and isinstance(document, dict):
        return {key: document.get(key) for key in ("data", "errors")}
    return document


def parity(tandem: Server, floor: Server, target: Target, token: str) -> dict[str, Any]:
    """Whether both servers answer the same status, JSON (and ETag on REST)."""
    ours, theirs = call_target(tandem.port, target, token), call_target(floor.port, target, token)
    mine, other = ours.json(), theirs.json()
    same_json = mine is not None and _comparable(target, mine) == _comparable(target, other)
    same_etag = ours.headers.get("etag") == theirs.headers.get("etag")
    extensions = sorted(mine.get("extensions") or {}) if isinstance(mine, dict) else []
    return {
        "status": [ours.status, theirs.status],
        "same_json": same_json,
        "same_bytes": ours.body == theirs.body,
        "same_etag": same_etag,
        "tandem_only_extensions": extensions if target.graphql else [],
        "ok": ours.status == theirs.status == 200 and same_json and same_etag,
    }


def count_statements(
    counter: StatementCounter, server: Server, target: Target, token: str, *, requests: int = 20
) -> dict[str, Any]:
    """Frontend messages per request, after a warm-up that fills the statement caches."""
    values = target.values or ("",)
    for index in range(5):
        call_target(server.port, target, token, values[index % len(values)])
    time.sleep(0.2)
    before = counter.counts()
    statuses = set()
    for index in range(requests):
        statuses.add(call_target(server.port, target, token, values[index % len(values)]).status)
    time.sleep(0.2)  # anything a server sends after its response (a late commit) is counted too
    delta = counter.counts()
    delta.subtract(before)
    executes, queries, parses = delta["E"], delta["Q"], delta["P"]
    return {
        "statements": (executes + queries) / requests,
        "execute": executes / requests,
        "simple_query": queries / requests,
        "parse": parses / requests,
        "statuses": sorted(statuses),
    }


# --- machine, summary, markdown -------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    wrk_version = ""
    if shutil.which("wrk"):
        probe = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
        first_line = (probe.stdout or probe.stderr or " ").splitlines()[0]
        wrk_version = " ".join(first_line.split()[:2])
    versions = {}
    for package in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model,
        "memory_gib": memory_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version,
        "packages": versions,
        "git": _git(),
    }


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        finished = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return finished.stdout.strip()

    changed = git("status", "--porcelain", "--", "tandem")
    return {"commit": git("rev-parse", "--short", "HEAD"), "tandem_dirty": bool(changed)}


def postgres_version(database_url: str) -> str:
    import asyncio

    import asyncpg

    from bench.seed import asyncpg_dsn

    async def fetch() -> str:
        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    return asyncio.run(fetch())


def summarise(runs: list[Run], target: Target) -> dict[str, Any]:
    by_server: dict[str, dict[str, Any]] = {}
    for kind in SERVERS:
        mine = [r for r in runs if r.target == target.name and r.server == kind]
        if not mine:
            continue
        requests = sum(r.requests for r in mine)
        db = [r.db_cpu_seconds for r in mine]
        by_server[kind] = {
            "rps": statistics.median(r.rps for r in mine),
            "p50_ms": statistics.median(r.p50_ms for r in mine),
            "p99_ms": statistics.median(r.p99_ms for r in mine),
            "cpu_per_1k": 1000 * sum(r.cpu_seconds for r in mine) / requests if requests else None,
            "db_cpu_per_1k": None
            if any(d is None for d in db) or not requests
            else 1000 * sum(d for d in db if d is not None) / requests,
            "connections_per_1k": None
            if any(r.connections_opened is None for r in mine) or not requests
            else 1000 * sum(r.connections_opened or 0 for r in mine) / requests,
            "errors": sum(r.errors for r in mine),
            "rounds": len(mine),
            "other_cores": sum(r.other_cpu_seconds for r in mine) / sum(r.seconds for r in mine),
        }
    ratio = None
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    if len(by_server) == 2 and by_server["floor"]["rps"]:
        ratio = by_server["tandem"]["rps"] / by_server["floor"]["rps"]
        for number in sorted({r.round for r in runs if r.target == target.name}):
            pair = {r.server: r for r in runs if r.target == target.name and r.round == number}
            if len(pair) == 2 and pair["floor"].rps and pair["tandem"].requests:
                ratios.append(pair["tandem"].rps / pair["floor"].rps)
                floor_cpu = pair["floor"].cpu_seconds / max(pair["floor"].requests, 1)
                tandem_cpu = pair["tandem"].cpu_seconds / pair["tandem"].requests
                if tandem_cpu:
                    cpu_ratios.append(floor_cpu / tandem_cpu)
    return {
        "servers": by_server,
        "ratio": ratio,
        "round_ratios": ratios,
        "round_cpu_ratios": cpu_ratios,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown(report: dict[str, Any], targets: list[Target]) -> str:
    box = report["machine"]
    config = report["config"]
    dirty = " + uncommitted changes in tandem/" if box["git"]["tandem_dirty"] else ""
    lines = [
        f"Machine: {box['nproc']} CPUs ({box['cpu']}), {box['memory_gib']} GiB, "
        f"servers on Python {report.get('servers_python', box['python'])}, "
        f"PostgreSQL {report.get('postgres', '?')}, "
        f"load: {box['wrk'] if config['loadgen'] == 'wrk' else 'Python client'}, "
        f"{config['connections']} "
        f"connections, {config['rounds_done']} rounds of {config['duration']} s per server and "
        f"path; Tandem: {report.get('tandem', box['git']['commit'] + dirty)}.",
        "",
        "| path | Tandem req/s | floor req/s | ratio (range) | target | CPU ratio | p50 ms T / F "
        "| p99 ms T / F | CPU s/1k req T / F | DB CPU s/1k T / F | DB conns opened/1k T / F "
        "| SQL/req T / F |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in targets:
        summary = report["summary"].get(target.name)
        statements = report["statements"].get(target.name, {})
        sql = " / ".join(_fmt(statements.get(kind, {}).get("statements"), 2) for kind in SERVERS)
        if summary is None or len(summary["servers"]) < 2:
            lines.append(
                f"| {target.label} | not available | | | ≥ {target.target_ratio} "
                f"| | | | | | | {sql} |"
            )
            continue
        t, f = summary["servers"]["tandem"], summary["servers"]["floor"]
        ratios = summary["round_ratios"]
        spread = f" ({min(ratios):.2f} to {max(ratios):.2f})" if len(ratios) > 1 else ""
        verdict = "✅" if summary["ratio"] >= (target.target_ratio or 0) else "❌"
        errors = " ⚠ errors" if t["errors"] or f["errors"] else ""
        cpu_ratio = (
            f["cpu_per_1k"] / t["cpu_per_1k"] if t["cpu_per_1k"] and f["cpu_per_1k"] else None
        )
        by_round = summary.get("round_cpu_ratios") or []
        cpu_spread = f" ({min(by_round):.2f} to {max(by_round):.2f})" if len(by_round) > 1 else ""
        lines.append(
            f"| {target.label} | {t['rps']:.0f} | {f['rps']:.0f} | "
            f"**{summary['ratio']:.2f}**{spread} | ≥ {target.target_ratio} {verdict} | "
            f"{_fmt(cpu_ratio, 2)}{cpu_spread} | "
            f"{t['p50_ms']:.1f} / {f['p50_ms']:.1f} | {t['p99_ms']:.1f} / {f['p99_ms']:.1f} | "
            f"{_fmt(t['cpu_per_1k'], 2)} / {_fmt(f['cpu_per_1k'], 2)} | "
            f"{_fmt(t['db_cpu_per_1k'], 2)} / {_fmt(f['db_cpu_per_1k'], 2)} | "
            f"{_fmt(t['connections_per_1k'], 0)} / {_fmt(f['connections_per_1k'], 0)} | "
            f"{sql}{errors} |"
        )
    lines += [
        "",
        "ratio: Tandem's req/s over the floor's (medians over rounds; the range is per round). "
        "CPU ratio: the floor's CPU per request over Tandem's, which other load on the machine "
        "barely moves. CPU: the server process; DB CPU: the bench's PostgreSQL, all backends. "
        "SQL/req: statements counted on the wire (Execute + simple Query).",
    ]
    sizes = report.get("page_sizes", {})
    if any(name.endswith("-list") for name in sizes):
        lines += ["", "Tandem's SQL statements per request by page size (must stay constant):", ""]
        lines += ["| list | 5 | 50 | 100 |", "| --- | ---: | ---: | ---: |"]
        for face in ("rest-list", "graphql-list"):
            row = [sizes.get(f"{face}-5"), sizes.get(face), sizes.get(f"{face}-100")]
            if not any(row):
                continue
            lines.append(
                f"| {face} | " + " | ".join(_fmt(v and v["statements"], 2) for v in row) + " |"
            )
    other = [
        server["other_cores"]
        for summary in report["summary"].values()
        for server in summary["servers"].values()
    ]
    if other:
        busy = max(other)
        lines += [
            "",
            f"Other processes used {statistics.mean(other):.2f} cores on average during the runs "
            f"(at most {busy:.2f} for one path and server)"
            + (": the machine was shared, read the ratios with care." if busy > 0.15 else "."),
        ]
    checked = []
    for name, result in report["parity"].items():
        if not result["ok"]:
            continue
        how = "identical bytes" if result["same_bytes"] else "same JSON"
        extra = result["tandem_only_extensions"]
        if extra:
            how += f" (Tandem adds extensions: {', '.join(extra)})"
        checked.append(f"{name}: {how}")
    if checked:
        lines += ["", "Answers compared before timing: " + "; ".join(checked) + "."]
    problems = [f"{name}: {p}" for name, p in report["parity"].items() if not p["ok"]]
    if problems:
        lines += ["", "⚠ Answers differ between Tandem and the floor: " + "; ".join(problems)]
    if report["unavailable"]:
        lines += [""] + [f"Not available: {k}: {v}" for k, v in report["unavailable"].items()]
    return "\n".join(lines) + "\n"


def profile_table(report: dict[str, Any], targets: list[Target]) -> str:
    """Tandem's CPU per request split by cost centre: profile shares times measured CPU."""
    profiles = report.get("profiles") or {}
    shown = [t for t in targets if f"tandem/{t.name}" in profiles]
    if not shown:
        return ""

    def cpu(kind: str, target: Target) -> float | None:
        summary = report["summary"].get(target.name, {}).get("servers", {}).get(kind, {})
        value: float | None = summary.get("cpu_per_1k")
        return value

    lines = [
        "",
        "Where Tandem's CPU goes: share of py-spy samples (GIL holder), and that share of the "
        "CPU per request measured above, in ms:",
        "",
        "| cost centre | " + " | ".join(t.name for t in shown) + " |",
        "| --- |" + " ---: |" * len(shown),
    ]
    for name in COST_CENTRES:
        cells = []
        for target in shown:
            share = profiles[f"tandem/{target.name}"]["centres"][name]
            total = cpu("tandem", target)
            ms = f"{share * total:.2f} ms " if total is not None else ""
            cells.append(f"{ms}({100 * share:.0f}%)" if share >= 0.005 else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [cpu("tandem", t) for t in shown]
    floors = [cpu("floor", t) for t in shown]
    gil = [profiles[f"tandem/{t.name}"].get("gil_ms_per_request") for t in shown]
    tandem_cells = " | ".join(f"**{_fmt(v, 2)} ms**" for v in totals)
    floor_cells = " | ".join(f"{_fmt(v, 2)} ms" for v in floors)
    lines.append(f"| **Tandem CPU per request** | {tandem_cells} |")
    lines.append(f"| floor CPU per request | {floor_cells} |")
    gil_cells = " | ".join(f"{_fmt(v, 2)} ms" for v in gil)
    lines.append(f"| Tandem GIL time per request while profiled (check) | {gil_cells} |")
    return "\n".join(lines) + "\n"


# --- profiling ---------------------------------------------------------------------------------


def ensure_py_spy() -> str:
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return str(local)
    found = shutil.which("py-spy")
    if found:
        return found
    log("installing py-spy into the virtual environment (profiling only)")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True, timeout=600
    )
    return str(local)


def profile(
    server: Server,
    target: Target,
    *,
    token: str,
    seconds: int,
    connections: int,
    loadgen: str,
    out_dir: Path,
    prefix: str,
) -> Profile:
    """Sample the server under load with py-spy (only the thread holding the GIL)."""
    py_spy = ensure_py_spy()
    raw = RESULTS / f"profile-{prefix}{target.name}.txt"
    load_seconds = seconds + 3
    load = subprocess.Popen(  # noqa: S603
        _load_command(target, server.port, token, load_seconds, connections, loadgen),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        time.sleep(1.0)
        subprocess.run(  # noqa: S603
            [
                py_spy,
                "record",
                "--pid",
                str(server.pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--nolineno",
                "--gil",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            check=True,
            capture_output=True,
            timeout=seconds + 60,
        )
    finally:
        try:
            output, _ = load.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            load.kill()
            output, _ = load.communicate(timeout=5)
    recorded = Profile.read(raw)
    marker = "BENCH-JSON "
    served = [
        json.loads(line.removeprefix(marker))
        for line in output.splitlines()
        if line.startswith(marker)
    ]
    # Requests served while py-spy sampled, at the load's average rate.
    recorded.requests = served[0]["requests"] * seconds / load_seconds if served else None
    who = "Tandem" if server.kind == "tandem" else "the floor"
    title = f"{who}: {target.label.replace('`', '')}"
    subtitle = (
        f"py-spy --gil --nolineno, {seconds} s at 250 Hz under {connections} connections, "
        f"{recorded.samples} samples; width = share of the GIL-holding thread's samples"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{prefix}{target.name}.svg").write_text(
        render_svg(recorded, title=title, subtitle=subtitle)
    )
    (RESULTS / f"profile-{prefix}{target.name}.md").write_text(recorded.summary(title=title))
    return recorded


# --- the whole run ----------------------------------------------------------------------------


@dataclass
class Options:
    duration: int
    rounds: int
    connections: int
    warmup: int
    loadgen: str
    budget: float
    measure: bool
    profile: bool
    profile_seconds: int
    profile_floor: bool
    profile_dir: Path
    ref: str | None = None
    users: int = 1_000
    items: int = 20_000
    only: list[str] = field(default_factory=list)
    tandem_env: dict[str, str] = field(default_factory=dict)
    peer: bool = False
    replica: bool = False
    python: str | None = None


def parse_options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=int, default=7, help="seconds per run (default 7)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server and path (3)")
    parser.add_argument("--connections", type=int, default=16, help="16..32 (default 16)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per server and path (2)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--budget", type=float, default=285, help="stop starting rounds after this many seconds"
    )
    parser.add_argument("--no-measure", dest="measure", action="store_false")
    parser.add_argument("--profile", action="store_true", help="py-spy flame graphs of Tandem")
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--profile-floor", action="store_true", help="profile the floor too")
    parser.add_argument("--profile-dir", type=Path, default=FLAMEGRAPHS)
    parser.add_argument("--only", action="append", default=[], help="a path name; repeatable")
    parser.add_argument(
        "--ref", help="measure this git revision of tandem/ instead of the working tree"
    )
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument(
        "--tandem-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for Tandem only (e.g. DB_POOL_SIZE=20); repeatable",
    )
    parser.add_argument(
        "--peer",
        action="store_true",
        help="also measure PostGraphile 5 on the GraphQL paths (npm; bench/peer/)",
    )
    parser.add_argument(
        "--python",
        metavar="INTERPRETER",
        help="run Tandem and the floor on this Python 3.11+ (bench/interpreter.py)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="then the same paths with and without a streaming replica (bench/replicas.py)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20 or not 1 <= args.duration <= 120:
        parser.error("--rounds must be 1..20 and --duration 1..120")
    extra = dict(item.split("=", 1) for item in args.tandem_env)
    return Options(
        duration=args.duration,
        rounds=args.rounds,
        connections=args.connections,
        warmup=args.warmup,
        loadgen=loadgen_kind(args.loadgen),
        budget=args.budget,
        measure=args.measure,
        profile=args.profile,
        profile_seconds=args.profile_seconds,
        profile_floor=args.profile_floor,
        profile_dir=args.profile_dir,
        only=args.only,
        ref=args.ref,
        users=args.users,
        items=args.items,
        tandem_env=extra,
        peer=args.peer,
        replica=args.replica,
        python=args.python,
    )


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    source = source_of(options.ref)
    log(f"Tandem from the {source.label}; load generator: {options.loadgen}")
    try:
        _bench(options, source)
        if options.replica and options.ref is None:
            from bench import replicas

            log("read replicas: the primary's share of the load, with and without one")
            replicas.main(
                [
                    *("--duration", str(options.duration), "--rounds", str(options.rounds)),
                    *("--connections", str(options.connections), "--loadgen", options.loadgen),
                    *("--users", str(options.users), "--items", str(options.items)),
                    *(f"--only={name}" for name in options.only),
                ]
            )
    finally:
        if source.path is not None:
            shutil.rmtree(source.path, ignore_errors=True)


def _hold_embedded_server() -> None:
    """Start (or join) the bench's embedded server and keep it up while this process lives."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return
    from tandem.persistence import embedded

    embedded.start(DATA_DIR)


def _bench(options: Options, source: Source) -> None:
    _hold_embedded_server()
    seeded = seed_with(source, users=options.users, items=options.items)
    log(f"seeded {seeded.users} users and {seeded.items} items in {seeded.seconds} s")
    targets = benchmark_targets(seeded.item_ids)
    if options.only:
        targets = [t for t in targets if t.name in options.only]
    token = seeded.token
    servers_python = interpreter.servers_python(options.python, log)
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "servers_python": interpreter.describe(servers_python),
        "tandem": source.label,
        "postgres": postgres_version(seeded.database_url),
        "config": {
            "duration": options.duration,
            "rounds": options.rounds,
            "rounds_done": 0,
            "connections": options.connections,
            "warmup": options.warmup,
            "loadgen": options.loadgen,
            "tandem_env": options.tandem_env,
            "users": seeded.users,
            "items": seeded.items,
        },
        "statements": {},
        "page_sizes": {},
        "parity": {},
        "unavailable": {},
        "runs": [],
        "summary": {},
    }

    monitor: SessionCounter | None = None
    # 1. Correctness and SQL statements, through the counting proxy.
    counter = StatementCounter(seeded.database_url).start()
    counted = [
        start_server(
            kind,
            seeded=seeded,
            database_url=counter.url,
            extra_env=options.tandem_env,
            tag="count",
            source=source,
            python=servers_python,
        )
        for kind in SERVERS
    ]
    # 2. The servers that are timed start meanwhile, connected to PostgreSQL directly.
    timed = [
        start_server(
            kind,
            seeded=seeded,
            database_url=seeded.database_url,
            extra_env=options.tandem_env,
            tag="timed",
            source=source,
            python=servers_python,
        )
        for kind in SERVERS
    ]
    try:
        with running(counted) as (tandem, floor):
            log("servers up; checking answers and counting statements on the wire")
            for target in targets:
                if target.graphql:
                    available, reason = graphql_available(tandem, target, token)
                    if not available:
                        report["unavailable"][target.name] = reason
                        log(f"{target.name}: not available ({reason})")
                        continue
                report["parity"][target.name] = parity(tandem, floor, target, token)
                report["statements"][target.name] = {
                    server.kind: count_statements(counter, server, target, token)
                    for server in (tandem, floor)
                }
            for target in page_size_targets():
                base = target.name.rsplit("-", 1)[0]
                if base in report["statements"]:
                    report["page_sizes"][target.name] = count_statements(
                        counter, tandem, target, token
                    )
            for name in report["statements"]:
                report["page_sizes"][name] = report["statements"][name]["tandem"]
            log("answers checked and statements counted")
        counter.stop()
        targets_ok = [t for t in targets if t.name not in report["unavailable"]]

        # 3. Timed runs, alternating servers; rounds outermost so a cut-short run stays fair.
        postmaster = postmaster_pid(seeded.database_url)
        monitor = SessionCounter(seeded.database_url)
        with running(timed) as (tandem, floor):
            servers = {"tandem": tandem, "floor": floor}
            if options.measure and targets_ok:
                for target in targets_ok:
                    for kind in SERVERS:
                        drive(
                            target,
                            port=servers[kind].port,
                            token=token,
                            seconds=options.warmup,
                            connections=options.connections,
                            loadgen=options.loadgen,
                        )
                log("warmed up; timed runs begin")
                round_seconds = len(targets_ok) * 2 * (options.duration + 0.5)
                for number in range(options.rounds):
                    if time.monotonic() - _started + round_seconds > options.budget:
                        log(f"time budget reached: {number} of {options.rounds} rounds done")
                        break
                    order = SERVERS if number % 2 == 0 else SERVERS[::-1]
                    for target in targets_ok:
                        for kind in order:
                            run = measure(
                                servers[kind],
                                target,
                                token=token,
                                seconds=options.duration,
                                connections=options.connections,
                                loadgen=options.loadgen,
                                postmaster=postmaster,
                                sessions=monitor,
                                round_number=number,
                            )
                            report["runs"].append(asdict(run))
                            log(
                                f"round {number + 1} {target.name:13} {kind:6} "
                                f"{run.rps:8.0f} req/s  p50 {run.p50_ms:6.1f} ms  "
                                f"p99 {run.p99_ms:6.1f} ms  cpu {run.cpu_seconds:5.2f} s  "
                                f"others {run.other_cpu_seconds / run.seconds:4.2f} cores"
                                + (f"  {run.errors} errors" if run.errors else "")
                            )
                            time.sleep(0.2)
                    report["config"]["rounds_done"] = number + 1
                runs = [Run(**r) for r in report["runs"]]
                for target in targets_ok:
                    report["summary"][target.name] = summarise(runs, target)
            if options.peer:
                report["peer"] = peer.compare(
                    tandem,
                    seeded=seeded,
                    tandem_targets=[t for t in targets_ok if t.graphql],
                    rounds=options.rounds,
                    seconds=options.duration,
                    warmup=options.warmup,
                    connections=options.connections,
                    loadgen=options.loadgen,
                    postmaster=postmaster,
                    hooks=sys.modules[__name__],
                )
            if options.profile:
                for target in targets_ok:
                    kinds = SERVERS if options.profile_floor else ("tandem",)
                    for kind in kinds:
                        log(f"profiling {kind} on {target.name}")
                        recorded = profile(
                            servers[kind],
                            target,
                            token=token,
                            seconds=options.profile_seconds,
                            connections=options.connections,
                            loadgen=options.loadgen,
                            out_dir=options.profile_dir,
                            prefix="" if kind == "tandem" else "floor-",
                        )
                        centres = recorded.cost_centres()
                        report.setdefault("profiles", {})[f"{kind}/{target.name}"] = {
                            "samples": recorded.samples,
                            "gil_ms_per_request": recorded.gil_ms_per_request(250),
                            "centres": {
                                name: centres[name] / (recorded.samples or 1)
                                for name in COST_CENTRES
                            },
                        }
    finally:
        counter.stop()
        if monitor is not None:
            monitor.close()
        for server in counted + timed:
            stop_server(server)

    report["seconds"] = round(time.monotonic() - _started, 1)
    table = (
        markdown(report, targets)
        + peer.markdown(report.get("peer", {}))
        + profile_table(report, targets)
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (stamp, "latest"):
        (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2, default=str))
        (RESULTS / f"{name}.md").write_text(table)
    log(f"done in {report['seconds']} s; results in {RESULTS.relative_to(ROOT)}/{stamp}.json")
    print(table)


if __name__ == "__main__":
    main()
