"""The typed web client in clients/web/, built as a web developer builds it, run for real.

GraphQL Code Generator (client preset) generates TypeScript types and typed documents from
the repository's schema.graphql; `tsc --noEmit` checks the client against them; tsc builds
it and Node runs it against a served Tandem: sign in, subscribe to itemChanged over
graphql-transport-ws (graphql-ws), create an item (a mutation), hear it, list items (a
query). A document the schema does not allow fails generation.
Skipped, saying why, only where Node.js is missing (a failure under CI).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.clients.node_tools import node_modules, tool
from tests.clients.test_browser_tools import PASSWORD, sign_up

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "clients" / "web"


def workspace(target: Path, modules: Path) -> Path:
    """The client's sources in `target`, with the cached node_modules beside them."""
    for name in ("package.json", "codegen.yml", "tsconfig.json"):
        shutil.copyfile(PROJECT / name, target / name)
    shutil.copytree(PROJECT / "src", target / "src", ignore=shutil.ignore_patterns("gql"))
    (target / "node_modules").symlink_to(modules, target_is_directory=True)
    return target


def run(target: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=target,
        env={**os.environ, "TANDEM_SCHEMA": str(ROOT / "schema.graphql"), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def build(target: Path) -> None:
    bin_ = target / "node_modules" / ".bin"
    for step in (
        [str(bin_ / "graphql-codegen"), "--config", "codegen.yml"],
        [str(bin_ / "tsc"), "--noEmit", "-p", "."],
        [str(bin_ / "tsc"), "-p", "."],
    ):
        done = run(target, *step)
        assert done.returncode == 0, f"{step[0]}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


async def test_the_generated_typed_client_runs_a_query_a_mutation_and_a_subscription(
    served, tmp_path
):
    modules = await asyncio.to_thread(node_modules, PROJECT)
    target = workspace(tmp_path, modules)
    await asyncio.to_thread(build, target)
    await sign_up(served, "web.client@example.com", "Web Client")
    ran = await asyncio.to_thread(
        run,
        target,
        tool("node"),
        "dist/client.js",
        TANDEM_URL=served,
        TANDEM_EMAIL="web.client@example.com",
        TANDEM_PASSWORD=PASSWORD,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    said = json.loads(ran.stdout.strip().splitlines()[-1])
    assert said["created"].startswith("Typed lamp") and said["price"] == "12.50"
    assert said["heard"] == "CREATED"
    assert said["first"] == {"title": said["created"], "owner": "Web Client"}
    assert said["total"] >= 2  # sign_up's item and the one made here


async def test_a_document_the_schema_does_not_allow_fails_generation(tmp_path):
    modules = await asyncio.to_thread(node_modules, PROJECT)
    target = workspace(tmp_path, modules)
    (target / "src" / "wrong.ts").write_text(
        'import { graphql } from "./gql/index.js";\n'
        "export const Wrong = graphql(`query Wrong { items(first: 1) { nodes { colour } } }`);\n"
    )
    generated = await asyncio.to_thread(
        run,
        target,
        str(target / "node_modules" / ".bin" / "graphql-codegen"),
        "--config",
        "codegen.yml",
    )
    assert generated.returncode != 0
    assert "colour" in generated.stdout + generated.stderr
