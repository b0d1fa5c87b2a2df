"""`GET /asyncapi.json` from a served Tandem, validated by the AsyncAPI Initiative's own
parser (`@asyncapi/parser`, npm: its JSON Schema for AsyncAPI 3 and its Spectral rules).

Skipped, saying why, only where Node.js is missing (a failure under CI).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx

from tandem.domain.events.records import EventType
from tests.clients.node_tools import node_modules, tool

PROJECT = Path(__file__).with_name("asyncapi")


def parse(url: str) -> subprocess.CompletedProcess[str]:
    modules = node_modules(PROJECT)
    return subprocess.run(
        [tool("node"), str(PROJECT / "validate.cjs"), url],
        env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_asyncapi_document_is_valid_and_names_every_channel(served):
    parsed = await asyncio.to_thread(parse, served + "/asyncapi.json")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    lines = [json.loads(line) for line in parsed.stdout.splitlines()]
    summary = lines[-1]
    assert summary["version"] == "3.1.0"
    assert "itemChanged" in summary["channels"]
    for kind in EventType:
        assert "webhook_" + kind.value.replace(".", "_") in summary["channels"]
    assert "webhook_ping" in summary["channels"]
    # The parser's warnings (its style rules) are printed, not hidden: none is an error.
    assert all(line.get("severity") != 0 for line in lines[:-1])


async def test_the_webhook_payload_is_the_openapi_documents_own(served):
    async with httpx.AsyncClient(base_url=served) as client:
        asyncapi = (await client.get("/asyncapi.json")).json()
        openapi = (await client.get("/openapi.json")).json()
    schemas = asyncapi["components"]["schemas"]
    assert schemas["EventOut"] == openapi["components"]["schemas"]["EventOut"]
    assert asyncapi["servers"]["websocket"]["host"] == served.removeprefix("http://")
    assert asyncapi["info"]["version"] == openapi["info"]["version"]
