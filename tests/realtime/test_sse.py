"""itemChanged over Server-Sent Events (graphql-sse, distinct-connections mode), same rules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import make_account
from tests.realtime.served import SUBSCRIBE, servers


@pytest.fixture(scope="module")
def served(settings, tmp_path_factory):
    with servers(settings, tmp_path_factory.mktemp("sse"), 2) as started:
        yield started


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) pairs of an event stream; comments (heartbeats) skipped."""
    name, data = None, []
    async for line in response.aiter_lines():
        if line == "":
            if name is not None:
                yield name, json.loads("".join(data)) if data and data[0] else None
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def stream(http: httpx.AsyncClient, token: str | None) -> Any:
    headers = {"Accept": "text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.stream("POST", "/graphql", json={"query": SUBSCRIBE}, headers=headers)


async def test_sse_receives_the_events_another_process_commits(services, client, served):
    listener, writer = served
    watcher = await make_account(services, client)
    owner = await make_account(services, client)
    async with (
        httpx.AsyncClient(base_url=listener.http, timeout=30) as http,
        stream(http, watcher.access_token) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = events(response)
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=writer.http) as other:
            draft = await other.post(
                "/api/v1/items", json={"title": "Mine", "status": "draft"}, headers=owner.headers
            )
            public = await other.post(
                "/api/v1/items", json={"title": "Ours"}, headers=owner.headers
            )
            assert draft.status_code == public.status_code == 201
        async with asyncio.timeout(10):
            name, data = await anext(received)
        assert name == "next"
        event = data["data"]["itemChanged"]
        assert (event["kind"], event["item"]["title"]) == ("CREATED", "Ours")  # never the draft


async def test_sse_with_a_bad_token_is_refused(served):
    listener, _ = served
    async with httpx.AsyncClient(base_url=listener.http) as http, stream(http, "nope") as response:
        assert response.status_code == 401
        assert "invalid_token" in response.headers["www-authenticate"]


async def test_sse_with_a_revoked_token_ends_with_unauthenticated(services, client, served):
    listener, _ = served
    watcher = await make_account(services, client)
    async with (
        httpx.AsyncClient(base_url=listener.http, timeout=30) as http,
        stream(http, watcher.access_token) as response,
    ):
        received = events(response)
        await asyncio.sleep(0.3)
        await client.post("/api/v1/auth/revoke", data={"token": watcher.access_token})
        async with asyncio.timeout(10):
            name, data = await anext(received)
            assert name == "next"
            assert data["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert (await anext(received))[0] == "complete"
