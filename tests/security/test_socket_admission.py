"""Every operation over graphql-transport-ws is admitted when it starts, against real processes.

Issue 20, finding 1: over a WebSocket, queries and mutations kept working after the
token was revoked or expired, after the account was deactivated, and with admin
powers after a demotion (the principal was set once, at connection_init). Finding
13: anonymous sockets were accepted and stayed open, with no limit per address.
Finding 14: in trusted-documents mode, every refusal over a socket logged a traceback.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import pytest
import websockets

from tandem.domain.auth.tokens import LEEWAY_SECONDS
from tests.factories import make_account
from tests.realtime.served import Socket, connected, servers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CREATE = 'mutation { createItem(input: {title: "Written over a socket"}) { id } }'
EMAILS = "{ users(first: 10) { nodes { email } } }"
ME = "{ me { name } }"
CAP = 3


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory):
    env = {"SOCKETS_PER_ADDRESS": str(CAP), "SOCKET_INIT_TIMEOUT_SECONDS": "1"}
    with servers(settings, tmp_path_factory.mktemp("sockets"), 1, **env) as (started,):
        yield started


async def run(socket: Socket, id: str, query: str) -> dict:
    """Send one operation; its first message (`next` or `error`)."""
    await socket.send({"id": id, "type": "subscribe", "payload": {"query": query}})
    while True:
        message = await socket.receive()
        if message["type"] == "ping":
            await socket.send({"type": "pong"})
            continue
        if message["type"] == "complete" and message.get("id") != id:
            continue  # an earlier operation's end
        assert message.get("id") == id, message
        return message


def refused_with(message: dict, code: str) -> None:
    assert message["type"] == "error", message
    assert [e["extensions"]["code"] for e in message["payload"]] == [code], message


async def item_titles(services) -> list[str]:
    async with services.database.reader() as uow:
        rows = await uow.connection.raw.fetch("SELECT title FROM items")
    return [row["title"] for row in rows]


async def test_a_revoked_token_writes_nothing_over_an_open_socket(services, client, server):
    ada = await make_account(services, client)
    async with connected(server.ws, ada.access_token) as socket:
        first = await run(socket, "1", ME)
        assert first["type"] == "next" and first["payload"]["data"]["me"]["name"] == ada.user.name
        # Priced by the one operation function (tandem/graphql/execution.py), as over HTTP.
        cost = first["payload"]["extensions"]["cost"]
        assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 1, cost
        revoked = await client.post("/api/v1/auth/revoke", data={"token": ada.access_token})
        assert revoked.status_code == 200
        refused_with(await run(socket, "2", CREATE), "UNAUTHENTICATED")
        code, _reason = await socket.closed()
        assert code == 4403
    assert await item_titles(services) == []


async def test_an_expired_token_is_refused_per_operation(settings, services, client, server):
    from tandem.app import services_for

    ada = await make_account(services, client)
    short = services_for(
        settings.model_copy(update={"access_token_ttl_seconds": 1}), services.database
    )
    token = (await short.auth.login(email=ada.user.email, password=ada.password)).access_token
    async with connected(server.ws, token) as socket:
        assert (await run(socket, "1", ME))["type"] == "next"
        await asyncio.sleep(1 + LEEWAY_SECONDS + 1)  # past the expiry and the clock leeway
        refused_with(await run(socket, "2", ME), "UNAUTHENTICATED")
        assert (await socket.closed())[0] == 4403


async def test_a_deactivated_account_is_refused_per_operation(services, client, server):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    async with connected(server.ws, ada.access_token) as socket:
        assert (await run(socket, "1", ME))["type"] == "next"
        off = await client.patch(
            f"/api/v1/users/{ada.id}", json={"is_active": False}, headers=admin.headers
        )
        assert off.status_code == 200, off.text
        refused_with(await run(socket, "2", CREATE), "UNAUTHENTICATED")
        assert (await socket.closed())[0] == 4403
    assert await item_titles(services) == []


async def test_a_demoted_admin_loses_admin_powers_over_an_open_socket(services, client, server):
    boss = await make_account(services, client, role="admin")
    demoted = await make_account(services, client, role="admin")
    other = await make_account(services, client)
    draft = await client.post(
        "/api/v1/items", json={"title": "Draft", "status": "draft"}, headers=other.headers
    )
    node = draft.json()["node_id"]
    rename = f'mutation {{ updateItem(id: "{node}", input: {{title: "Taken"}}) {{ title }} }}'
    async with connected(server.ws, demoted.access_token) as socket:
        listed = await run(socket, "1", EMAILS)
        assert listed["type"] == "next", listed
        assert other.user.email in json.dumps(listed["payload"]["data"])
        down = await client.patch(
            f"/api/v1/users/{demoted.id}", json={"role": "member"}, headers=boss.headers
        )
        assert down.status_code == 200, down.text
        listed = await run(socket, "2", EMAILS)
        assert other.user.email not in json.dumps(listed["payload"]), listed
        assert [e["extensions"]["code"] for e in listed["payload"]["errors"]] == ["FORBIDDEN"]
        renamed = await run(socket, "3", rename)
        assert renamed["payload"]["data"] is None, renamed
        assert renamed["payload"]["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN")
    seen = await client.get(f"/api/v1/items/{draft.json()['id']}", headers=other.headers)
    assert seen.json()["title"] == "Draft"


async def test_connection_init_without_a_valid_token_closes_4403(server):
    for payload in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        async with websockets.connect(server.ws, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code == 4403, payload


async def test_a_socket_silent_past_the_init_timeout_closes_4408(server):
    async with websockets.connect(server.ws, subprotocols=["graphql-transport-ws"]) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 4408


async def test_open_sockets_are_capped_per_address(services, client, server):
    ada = await make_account(services, client)
    async with (
        connected(server.ws, ada.access_token),
        connected(server.ws, ada.access_token),
        connected(server.ws, ada.access_token),
        websockets.connect(server.ws, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 1013
        assert "too many" in (ws.close_reason or "")
    # Closed ones no longer count.
    async with connected(server.ws, ada.access_token) as socket:
        assert (await run(socket, "1", ME))["type"] == "next"


async def test_trusted_mode_refusals_are_logged_once_without_a_traceback(
    settings, services, client, tmp_path: Path
):
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({hashlib.sha256(ME.encode()).hexdigest(): ME}))
    ada = await make_account(services, client)
    env = {"GRAPHQL_TRUSTED_DOCUMENTS": str(manifest), "GRAPHQL_TRUSTED_ONLY": "true"}
    with servers(settings, tmp_path, 1, LOG_LEVEL="info", **env) as (trusted,):
        async with connected(trusted.ws, ada.access_token) as socket:
            for number in range(3):
                refused_with(await run(socket, str(number), CREATE), "PERSISTED_QUERY_NOT_ALLOWED")
            assert (await run(socket, "ok", ME))["type"] == "next"
        async with httpx.AsyncClient(base_url=trusted.http) as http:
            await http.get("/healthz")
        output = trusted.output()
    assert "Traceback" not in output
    assert output.count("PERSISTED_QUERY_NOT_ALLOWED") == 3, output
