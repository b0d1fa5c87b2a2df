"""squawk on every Alembic migration's SQL: a migration that would lock a busy table fails CI.

Each migration runs, one at a time, against a fresh database on the embedded PostgreSQL
while every statement is recorded (`tandem.persistence.migrate.recorded_sql`: its
statements, in its transaction, after the `lock_timeout` env.py sets; a data migration
reads rows, so `alembic upgrade --sql` cannot render it offline), and squawk (PyPI
`squawk-cli`, a dev dependency) lints that SQL against PostgreSQL 15, the oldest server
Tandem supports.

A finding fails unless its rule is one the project does not follow (PROJECT_CHOICES) or it
is excepted for that one revision, with the reason (EXCEPTED). The revisions excepted had
run in deployments before the lint existed: editing them would change nothing on those
databases and make a fresh one differ from them. An exception that no longer matches a
finding fails too, so the list cannot drift. Run: `.venv/bin/python .ci/lint_migrations.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tandem.persistence.migrate import recorded_sql  # noqa: E402

SQUAWK = Path(sys.executable).with_name("squawk")
POSTGRES_VERSION = "15"

PROJECT_CHOICES = {
    "prefer-text-field": (
        "string columns carry the contract's length limits (varchar(n)); raising one later is "
        "a catalogue-only ALTER (no rewrite), bounded by the migration's lock_timeout"
    ),
    "prefer-bigint-over-int": (
        "every id is bigint; int is kept for small counters (attempts, version, status codes)"
    ),
    "prefer-bigint-over-smallint": "smallint only for HTTP status codes",
    "require-statement-timeout": (
        "an index build or a backfill on a large table rightly runs for minutes; what stalls "
        "other sessions is waiting for a lock, which the lock_timeout every migration sets "
        "bounds"
    ),
}

_APPLIED = (
    "applied in deployments before the lint existed: editing it now changes nothing on "
    "those databases and would make a fresh one differ from them"
)
_ONE_SWAP = (
    "every email is rewritten and the unique index swapped in one transaction, so no "
    "sign-up ever meets the table without a unique email index; building it blocks sign-ups "
    "(not reads) for the seconds a users table takes"
)
EXCEPTED: dict[tuple[str, str], str] = {
    ("0003_search", "require-concurrent-index-deletion"): _APPLIED,
    ("0003_search", "ban-drop-column"): (
        "items.search (tsvector) gave way to search_text/search_symbols in the release that "
        "stopped reading it; " + _APPLIED
    ),
    ("0003_search", "adding-field-with-default"): (
        "a stored generated column rewrites the table on any version; " + _APPLIED
    ),
    ("0003_search", "require-concurrent-index-creation"): _APPLIED,
    ("0013_emails", "require-concurrent-index-deletion"): _ONE_SWAP,
    ("0013_emails", "require-concurrent-index-creation"): _ONE_SWAP,
    ("0010_count_index", "require-concurrent-index-creation"): (
        _APPLIED + "; a new index on an existing table is built CONCURRENTLY, in an "
        "autocommit_block (docs/deploy.md)"
    ),
    ("0012_fair_deliveries", "ban-drop-not-null"): (
        "webhook_attempts.duration_ms is written by the worker alone; an attempt is now "
        "recorded before it is sent, its duration null until it ends, and every reader "
        "coalesces it (the API keeps answering an integer)"
    ),
    ("0017_sealed_secrets", "changing-column-type"): (
        "varchar(100) to varchar(255) on webhook_endpoints: widening a varchar is a "
        "catalogue-only change (no rewrite), its brief ACCESS EXCLUSIVE lock bounded by the "
        "migration's lock_timeout; the table holds at most 20 rows per user"
    ),
    ("0012_fair_deliveries", "prefer-robust-stmts"): (
        "DROP NOT NULL is idempotent and the index is built IF NOT EXISTS: a rerun after a "
        "failure part way through completes it"
    ),
}


@dataclass(frozen=True)
class Finding:
    revision: str
    rule: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.revision}.sql:{self.line}: {self.rule}: {self.message}"


def lint(rendered: dict[str, str]) -> list[Finding]:
    """squawk's findings on each revision's SQL."""
    findings = []
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for revision, sql in rendered.items():
            path = Path(directory) / f"{revision}.sql"
            path.write_text(sql)
            paths.append(str(path))
        result = subprocess.run(  # noqa: S603 (our venv's squawk, our files)
            [str(SQUAWK), "--pg-version", POSTGRES_VERSION, "--reporter", "json", *paths],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode not in (0, 1) or not result.stdout.strip():
            raise SystemExit(f"squawk failed ({result.returncode}): {result.stderr.strip()}")
        for entry in json.loads(result.stdout):
            findings.append(
                Finding(
                    revision=Path(entry["file"]).stem,
                    rule=entry["rule_name"],
                    line=entry["line"],
                    message=entry["message"],
                )
            )
    return findings


def problems(findings: list[Finding]) -> list[str]:
    """Findings neither a project choice nor excepted, and exceptions that match nothing."""
    unexcused = [
        f"{finding} ({SQUAWK.name} rule; fix the migration, or except it with a reason)"
        for finding in findings
        if finding.rule not in PROJECT_CHOICES and (finding.revision, finding.rule) not in EXCEPTED
    ]
    seen = {(finding.revision, finding.rule) for finding in findings}
    stale = [
        f"{revision}: {rule}: excepted in .ci/lint_migrations.py but no longer found"
        for revision, rule in EXCEPTED
        if (revision, rule) not in seen
    ]
    return unexcused + stale


def record() -> dict[str, str]:
    """Every migration's SQL, run on a scratch database of the embedded server."""
    import os

    from tandem.persistence import embedded

    server = embedded.start(ROOT / ".tandem")
    name = f"lint_migrations_{os.getpid()}"
    url = server.ensure_database(name, fresh=True)
    try:
        return recorded_sql(url)
    finally:
        server.drop_database(name)


def main() -> int:
    rendered = record()
    found = problems(lint(rendered))
    for line in found:
        print(line)
    print(f"lint_migrations: {len(rendered)} migrations, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
