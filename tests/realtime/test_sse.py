"""itemChanged over Server-Sent Events (graphql-sse, distinct-connections mode), same rules."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import make_account
from tests.realtime.served import SUBSCRIBE, servers, start_server, stop_server, until_live
from tests.realtime.test_resume import RESUME, burst, event_ids, since_first, until, writing


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
    await until_live(listener, 0)  # an earlier test's stream has ended
    async with (
        httpx.AsyncClient(base_url=listener.http, timeout=30) as http,
        stream(http, watcher.access_token) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = events(response)
        await until_live(listener, 1)  # the stream's subscription hears what commits now
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
    await until_live(listener, 0)
    async with (
        httpx.AsyncClient(base_url=listener.http, timeout=30) as http,
        stream(http, watcher.access_token) as response,
    ):
        received = events(response)
        await until_live(listener, 1)
        await client.post("/api/v1/auth/revoke", data={"token": watcher.access_token})
        async with asyncio.timeout(10):
            name, data = await anext(received)
            assert name == "next"
            assert data["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert (await anext(received))[0] == "complete"


async def test_sigterm_sends_what_committed_then_ends_the_stream_without_complete(
    settings, services, client, tmp_path
):
    # Before, uvicorn left an event stream running through the whole shutdown grace period
    # and then cut it mid-chunk, dropping what its subscription still held.
    watcher = await make_account(services, client)
    writer = await make_account(services, client)
    server = start_server(settings, tmp_path, "sse-sigterm", SHUTDOWN_GRACE_SECONDS="30")
    received: list[dict[str, Any]] = []
    names: list[str] = []
    try:
        async with (
            httpx.AsyncClient(base_url=server.http, timeout=60) as http,
            http.stream(
                "POST",
                "/graphql",
                json={"query": RESUME},
                headers={"Accept": "text/event-stream", **watcher.headers},
            ) as response,
        ):
            assert response.status_code == 200

            async def take() -> None:
                async for name, data in events(response):
                    names.append(name)
                    if name == "next":
                        received.append(data["data"]["itemChanged"])

            reading = asyncio.create_task(take())
            async with writing(services, writer) as done:
                await until(lambda: len(done) >= 20 and len(received) >= 5)
            await burst(services, writer, 300)  # committed, then at once:
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await asyncio.wait_for(reading, 15)  # the stream ends, long before the grace
            ended_after = time.monotonic() - signalled
        exit_code = await asyncio.to_thread(server.process.wait, 30)
    finally:
        stop_server(server)
    assert ended_after < 10, ended_after
    assert "complete" not in names  # the client is to resume, not to stop
    assert exit_code == 0
    committed = await event_ids(client, watcher)
    got = [event["eventId"] for event in received]
    assert got == since_first(got, committed)  # all 300 of the burst, in order, none twice
