"""PostGraphile 5 beside Tandem: `make bench BENCH_ARGS="--peer"` (docs/performance.md).

PostGraphile compiles GraphQL to SQL; it is what a user might pick instead of us.
This module installs it with npm into a cache outside the repository
(~/.cache/tandem-bench/postgraphile5, or $TANDEM_BENCH_CACHE), with Node 22 from
the npm package `node@22` (PostGraphile 5 needs Node 22 or newer), and serves it
on the bench's database (bench/peer/server.mjs):

- its lazy JWT preset verifies Tandem's own token: HS256 with Tandem's key, the
  issuer and the audience; every claim reaches PostgreSQL as `jwt.claims.<name>`;
- it connects as the `member` role, and a row-level-security policy on `items`
  hides other users' drafts from it, as Tandem's visibility rule does for a member.

`check_answers` proves once per run that both sides agree where it matters:
another user's draft is hidden by both, the caller's own draft shown by both (a
preset that dropped the claims would hide it), and the first page of 50 holds the
same items in the same order. Without npm, the bench says so and measures the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from bench.seed import Seeded, asyncpg_dsn
from bench.targets import Target, global_id

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("TANDEM_BENCH_CACHE") or Path.home() / ".cache" / "tandem-bench")
PREFIX = CACHE / "postgraphile5"
# Exact versions, so two runs measure the same PostGraphile.
PACKAGE = {
    "name": "tandem-bench-postgraphile",
    "private": True,
    "type": "module",
    "dependencies": {"node": "22.23.3", "postgraphile": "5.1.5", "pg": "8.23.1"},
}
ROLE = "member"
# Tandem's throughput over PostGraphile's that we hold ourselves to, by path.
TARGETS = {"graphql-item": 1.1, "graphql-list": 0.85}

PEER_ITEM = (
    "query($id: BigInt!) { itemByRowId(rowId: $id) { rowId title price userByOwnerId { name } } }"
)
PEER_ITEMS = (
    "{ allItems(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) "
    "{ nodes { rowId title price userByOwnerId { name } } } }"
)

RLS = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
    CREATE ROLE {ROLE} LOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO {ROLE};
GRANT SELECT ON items TO {ROLE};
GRANT SELECT (id, name, created_at) ON users TO {ROLE};
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS member_sees ON items;
CREATE POLICY member_sees ON items FOR SELECT TO {ROLE} USING (
  status <> 'draft'
  OR owner_id = nullif(current_setting('jwt.claims.sub', true), '')::bigint
);
"""


@dataclass(frozen=True)
class Installed:
    node: Path
    script: Path


def install(log: Any) -> tuple[Installed | None, str]:
    """PostGraphile 5 and Node 22 in the cache; (None, why) when that cannot be done."""
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed, so PostGraphile 5 is not measured"
    PREFIX.mkdir(parents=True, exist_ok=True)
    manifest = PREFIX / "package.json"
    wanted = json.dumps(PACKAGE, indent=2) + "\n"
    node = PREFIX / "node_modules" / "node" / "bin" / "node"
    ready = (PREFIX / "node_modules" / "postgraphile").is_dir() and node.exists()
    if not ready or not manifest.exists() or manifest.read_text() != wanted:
        log(f"installing PostGraphile 5 and Node 22 with npm into {PREFIX}")
        manifest.write_text(wanted)
        finished = subprocess.run(  # noqa: S603
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PREFIX,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if finished.returncode != 0 or not node.exists():
            return None, f"npm install failed: {(finished.stderr or finished.stdout)[-600:]}"
    version = subprocess.run(  # noqa: S603
        [str(node), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not version.startswith("v22."):
        return None, f"the cached node is {version or 'unusable'}, not Node 22"
    script = PREFIX / "server.mjs"
    shutil.copyfile(HERE / "server.mjs", script)  # beside its node_modules, so imports resolve
    return Installed(node, script), version


def prepare_database(database_url: str) -> None:
    """The `member` role and the policy that hides other users' drafts from it."""

    async def run() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await connection.execute(RLS)
        finally:
            await connection.close()

    asyncio.run(run())


def connection_env(database_url: str) -> dict[str, str]:
    """libpq-style settings for node-postgres, as the `member` role, from the bench's URL."""
    parts = urlsplit(asyncpg_dsn(database_url))
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    env = {"PEER_PGHOST": unquote(host), "PEER_PGDATABASE": parts.path.lstrip("/")}
    port = query.get("port", [str(parts.port or "")])[0]
    if port:
        env["PEER_PGPORT"] = port
    env["PEER_PGUSER"] = ROLE
    return env


def start(
    installed: Installed, *, seeded: Seeded, port: int, log_path: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **connection_env(seeded.database_url),
        "PEER_PORT": str(port),
        "PEER_JWT_SECRET": seeded.secret_key,
        "PEER_JWT_ISSUER": seeded.issuer,
        "PEER_JWT_AUDIENCE": seeded.audience,
        "NODE_ENV": "production",
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as output:
        return subprocess.Popen(  # noqa: S603
            [str(installed.node), str(installed.script)],
            cwd=installed.script.parent,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def graphql_body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    document: dict[str, Any] = {"query": query}
    if variables is not None:
        document["variables"] = variables
    return json.dumps(document, separators=(",", ":")).encode()


def targets(item_ids: list[int]) -> dict[str, Target]:
    """PostGraphile's request for each GraphQL path Tandem is timed on, by the path's name."""
    return {
        "graphql-item": Target(
            name="graphql-item",
            label="PostGraphile `itemByRowId` + owner",
            method="POST",
            path="/graphql",
            # ids are bigint: PostGraphile's BigInt travels as a string.
            body='{"query":' + json.dumps(PEER_ITEM) + ',"variables":{"id":"@VALUE@"}}',
            values=tuple(str(i) for i in item_ids),
            graphql=True,
        ),
        "graphql-list": Target(
            name="graphql-list",
            label="PostGraphile `allItems(first: 50)` + owners",
            method="POST",
            path="/graphql",
            body=json.dumps({"query": PEER_ITEMS}, separators=(",", ":")),
            graphql=True,
        ),
    }


def wait_ready(process: subprocess.Popen[bytes], port: int, call: Any, log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"PostGraphile exited at start-up:\n{_tail(log_path)}")
        with contextlib.suppress(OSError):
            answer = call(port, "POST", "/graphql", body=graphql_body("{ __typename }"), timeout=5)
            if answer.status == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostGraphile is not ready:\n{_tail(log_path)}")
        time.sleep(0.3)


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-20:])
    return ""


def _drafts(database_url: str, principal_id: int) -> tuple[int, int]:
    """A draft of the caller's own, and one of somebody else's."""

    async def run() -> tuple[int, int]:
        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            own = await connection.fetchval(
                "SELECT min(id) FROM items WHERE status = 'draft' AND owner_id = $1", principal_id
            )
            other = await connection.fetchval(
                "SELECT min(id) FROM items WHERE status = 'draft' AND owner_id <> $1",
                principal_id,
            )
        finally:
            await connection.close()
        return int(own), int(other)

    return asyncio.run(run())


def check_answers(*, tandem_port: int, peer_port: int, seeded: Seeded, call: Any) -> dict[str, Any]:
    """Both hide another user's draft, both show the caller's own, both list the same page."""
    own, other = _drafts(seeded.database_url, seeded.principal_id)
    token = seeded.token

    def tandem_item(item_id: int) -> Any:
        body = graphql_body(
            "query($id: ID!) { item(id: $id) { databaseId } }", {"id": global_id("Item", item_id)}
        )
        data = call(tandem_port, "POST", "/graphql", body=body, token=token).json() or {}
        return (data.get("data") or {}).get("item")

    def peer_item(item_id: int) -> Any:
        body = graphql_body(
            "query($id: BigInt!) { itemByRowId(rowId: $id) { rowId } }", {"id": item_id}
        )
        data = call(peer_port, "POST", "/graphql", body=body, token=token).json() or {}
        return (data.get("data") or {}).get("itemByRowId")

    tandem_page = call(
        tandem_port,
        "POST",
        "/graphql",
        body=graphql_body("{ items(first: 50) { nodes { databaseId owner { name } } } }"),
        token=token,
    ).json()
    peer_page = call(
        peer_port,
        "POST",
        "/graphql",
        body=graphql_body(
            "{ allItems(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) "
            "{ nodes { rowId userByOwnerId { name } } } }"
        ),
        token=token,
    ).json()
    ours = [(n["databaseId"], n["owner"]["name"]) for n in tandem_page["data"]["items"]["nodes"]]
    theirs = [
        (int(node["rowId"]), node["userByOwnerId"]["name"])
        for node in peer_page["data"]["allItems"]["nodes"]
    ]
    result = {
        "own_draft": own,
        "other_draft": other,
        "other_draft_hidden": {
            "tandem": tandem_item(other) is None,
            "peer": peer_item(other) is None,
        },
        "own_draft_shown": {
            "tandem": tandem_item(own) is not None,
            "peer": peer_item(own) is not None,
        },
        "same_first_page": ours == theirs and len(ours) == 50,
    }
    result["ok"] = (
        all(result["other_draft_hidden"].values())
        and all(result["own_draft_shown"].values())
        and result["same_first_page"]
    )
    return result


# --- the timed comparison ------------------------------------------------------------------


def compare(
    tandem: Any,
    *,
    seeded: Seeded,
    tandem_targets: list[Target],
    rounds: int,
    seconds: int,
    warmup: int,
    connections: int,
    loadgen: str,
    postmaster: int | None,
    hooks: Any,
) -> dict[str, Any]:
    """Tandem's timed server against PostGraphile 5 on the GraphQL paths, rounds alternating.

    `hooks` is bench.run: its Server, measure, drive, call, free_port, log and RESULTS.
    """
    log = hooks.log
    installed, note = install(log)
    if installed is None:
        log(f"peer: {note}; measuring the rest")
        return {"unavailable": note}
    prepare_database(seeded.database_url)
    port = hooks.free_port()
    log_path = hooks.RESULTS / "logs" / "postgraphile.log"
    process = start(installed, seeded=seeded, port=port, log_path=log_path)
    server = hooks.Server("postgraphile", port, process, log_path)
    report: dict[str, Any] = {"node": note, "postgraphile": PACKAGE["dependencies"], "runs": []}
    try:
        wait_ready(process, port, hooks.call, log_path)
        checked = check_answers(
            tandem_port=tandem.port, peer_port=port, seeded=seeded, call=hooks.call
        )
        report["check"] = checked
        log(f"peer: PostGraphile {PACKAGE['dependencies']['postgraphile']} up; answers {checked}")
        theirs = targets(seeded.item_ids)
        paths = [(t, theirs[t.name]) for t in tandem_targets if t.name in theirs]
        for ours, peer_target in paths:
            for who, target in ((tandem, ours), (server, peer_target)):
                hooks.drive(
                    target,
                    port=who.port,
                    token=seeded.token,
                    seconds=warmup,
                    connections=connections,
                    loadgen=loadgen,
                )
        for number in range(rounds):
            for ours, peer_target in paths:
                pair = [(tandem, ours), (server, peer_target)]
                for who, target in pair if number % 2 else pair[::-1]:
                    run = hooks.measure(
                        who,
                        target,
                        token=seeded.token,
                        seconds=seconds,
                        connections=connections,
                        loadgen=loadgen,
                        postmaster=postmaster,
                        sessions=None,
                        round_number=number,
                    )
                    # The path's name for both sides, so rounds pair up.
                    row = {**hooks.asdict(run), "target": ours.name}
                    report["runs"].append(row)
                    log(
                        f"peer round {number + 1} {ours.name:13} {who.kind:12} "
                        f"{run.rps:8.0f} req/s  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms"
                        f"  cpu {1000 * run.cpu_seconds / max(run.requests, 1):5.2f} ms/req"
                        + (f"  {run.errors} errors" if run.errors else "")
                    )
                    time.sleep(0.2)
        report["summary"] = {ours.name: _summary(report["runs"], ours.name) for ours, _ in paths}
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    return report


def _summary(runs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    import statistics

    mine = [r for r in runs if r["target"] == name]
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for run in mine:
        by_round.setdefault(run["round"], {})[run["server"]] = run
    ratios, cpu = [], {"tandem": [], "postgraphile": []}
    for pair in by_round.values():
        if len(pair) == 2 and pair["postgraphile"]["rps"]:
            ratios.append(pair["tandem"]["rps"] / pair["postgraphile"]["rps"])
    servers = {}
    for kind in cpu:
        runs_of = [r for r in mine if r["server"] == kind]
        requests = sum(r["requests"] for r in runs_of)
        db = [r["db_cpu_seconds"] for r in runs_of]
        servers[kind] = {
            "rps": statistics.median(r["rps"] for r in runs_of) if runs_of else None,
            "p50_ms": statistics.median(r["p50_ms"] for r in runs_of) if runs_of else None,
            "p99_ms": statistics.median(r["p99_ms"] for r in runs_of) if runs_of else None,
            "cpu_ms": 1000 * sum(r["cpu_seconds"] for r in runs_of) / requests
            if requests
            else None,
            "db_cpu_ms": 1000 * sum(db) / requests
            if requests and all(d is not None for d in db)
            else None,
            "errors": sum(r["errors"] for r in runs_of),
        }
    return {
        "servers": servers,
        "ratio": statistics.median(ratios) if ratios else None,
        "round_ratios": ratios,
    }


def markdown(report: dict[str, Any]) -> str:
    if not report:
        return ""
    if "unavailable" in report:
        return f"\nPostGraphile 5: not measured ({report['unavailable']}).\n"
    check = report.get("check", {})
    lines = [
        "",
        f"Against PostGraphile {report['postgraphile']['postgraphile']} (Node {report['node']}, "
        "lazy JWT preset verifying Tandem's token, `member` role under row-level security), "
        "same database, rounds alternating:",
        "",
        "| workload | Tandem req/s | PostGraphile req/s | ratio (median of rounds; range) "
        "| target | CPU ms/req T / PG | PostgreSQL CPU ms/req T / PG | p50 ms T / PG "
        "| p99 ms T / PG |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def f(value: Any, digits: int = 2) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    for name, summary in report.get("summary", {}).items():
        t, p = summary["servers"]["tandem"], summary["servers"]["postgraphile"]
        ratios = summary["round_ratios"]
        spread = f" ({min(ratios):.2f} to {max(ratios):.2f})" if len(ratios) > 1 else ""
        errors = " ⚠ errors" if t["errors"] or p["errors"] else ""
        target = TARGETS.get(name)
        ratio = summary["ratio"]
        met = "✅" if ratio is not None and target and ratio >= target else "❌"
        lines.append(
            f"| {name} | {f(t['rps'], 0)} | {f(p['rps'], 0)} | **{f(summary['ratio'])}**{spread} "
            f"| ≥ {target} {met} "
            f"| {f(t['cpu_ms'])} / {f(p['cpu_ms'])} | {f(t['db_cpu_ms'])} / {f(p['db_cpu_ms'])} "
            f"| {f(t['p50_ms'], 1)} / {f(p['p50_ms'], 1)} "
            f"| {f(t['p99_ms'], 1)} / {f(p['p99_ms'], 1)}{errors} |"
        )
    verdict = "✅" if check.get("ok") else "⚠"
    lines += [
        "",
        f"{verdict} Checked before timing: another user's draft (item {check.get('other_draft')}) "
        f"hidden by both {check.get('other_draft_hidden')}; the caller's own draft (item "
        f"{check.get('own_draft')}) shown by both {check.get('own_draft_shown')}; the first page "
        f"of 50 the same items, order and owners on both: {check.get('same_first_page')}.",
    ]
    return "\n".join(lines) + "\n"
