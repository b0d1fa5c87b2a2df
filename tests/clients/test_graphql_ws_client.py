"""The npm `graphql-ws` client (graphql-transport-ws' reference implementation), run with Node."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx

from tests.clients.node_tools import node_modules, tool
from tests.factories import make_account
from tests.realtime.served import servers

PROJECT = Path(__file__).resolve().parent / "graphql_ws"


async def test_the_graphql_ws_client_subscribes_and_receives_an_event(
    settings, services, client, tmp_path
):
    node = tool("node")
    modules = node_modules(PROJECT)
    watcher = await make_account(services, client)
    with servers(settings, tmp_path, 1) as (server,):
        process = await asyncio.create_subprocess_exec(
            node,
            str(PROJECT / "subscribe.cjs"),
            server.ws,
            watcher.access_token,
            "1",
            env={**os.environ, "NODE_PATH": str(modules)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(30):
                first = await process.stdout.readline()
            assert first, (await process.stderr.read()).decode() if process.stderr else ""
            assert json.loads(first) == {"connected": True}
            await asyncio.sleep(0.3)  # connected is before subscribe's message is handled
            async with httpx.AsyncClient(base_url=server.http) as http:
                made = await http.post(
                    "/api/v1/items", json={"title": "From Node"}, headers=watcher.headers
                )
            async with asyncio.timeout(30):
                line = await process.stdout.readline()
                code = await process.wait()
            stderr = (await process.stderr.read()).decode() if process.stderr else ""
            assert code == 0, stderr
            event = json.loads(line)["data"]["itemChanged"]
            assert event == {
                "kind": "CREATED",
                "itemId": made.json()["node_id"],
                "item": {"title": "From Node", "owner": {"name": watcher.user.name}},
            }
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
