"""The `graphql-http` audit suite (npm) against a GraphQL over HTTP endpoint.

Also a command, to audit any running server:
    .venv/bin/python -m tests.clients.graphql_http_audit http://127.0.0.1:8000/graphql
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.clients.node_tools import node_modules, tool

PROJECT = Path(__file__).resolve().parent / "graphql_http"
AUDIT_SECONDS = 120


def audit(url: str) -> list[dict[str, Any]]:
    """Every audit's result: {id, name, status} and, when not ok, its reason and response."""
    modules = node_modules(PROJECT)
    result = subprocess.run(
        [tool("node"), str(PROJECT / "audit.cjs"), url],
        env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True,
        text=True,
        timeout=AUDIT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the audit did not run: {result.stderr.strip()}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def summary(results: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def main(url: str) -> int:
    results = audit(url)
    for result in results:
        if result["status"] != "ok":
            print(json.dumps(result))
    print(f"graphql-http audits: {summary(results)} (of {len(results)})")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/graphql"))
