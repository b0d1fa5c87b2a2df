"""Resumable subscriptions: `itemChanged(after:)` with the events API's cursor, across restarts.

Real `tandem serve` processes, stopped with SIGTERM and SIGKILL mid-stream; the test
compares what the subscriber received with the events API's own list (no gap, no
duplicate, nothing committed before a SIGTERM left unsent).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import websockets

from tandem.domain.events.documents import item_event
from tandem.domain.events.records import EventType
from tandem.domain.items.commands import CreateItem
from tests.factories import Account, item_record, make_account
from tests.realtime.served import Socket, connected, servers, start_server, stop_server

RESUME = (
    "subscription($after: String) { itemChanged(after: $after) "
    "{ kind itemId eventId cursor item { title owner { name } } } }"
)


async def event_ids(
    client: httpx.AsyncClient, account: Account, after: str | None = None
) -> list[str]:
    """Every event the account may see (after `after`), as GET /events pages them."""
    ids: list[str] = []
    cursor = after
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor is not None:
            params["after"] = cursor
        page = await client.get("/api/v1/events", params=params, headers=account.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        ids.extend(event["id"] for event in body["items"])
        if not body["has_more"]:
            return ids
        cursor = body["next_cursor"]


async def take(socket: Socket, received: list[dict[str, Any]]) -> None:
    """Append every event until the server closes the socket."""
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            received.append(await socket.next_event(within=60))


def since_first(got: list[str], every: list[str]) -> list[str]:
    """The stream from the first event the subscriber got: writes start as it subscribes, and
    on a loaded machine the first may commit before the subscription is live. What these
    tests hold is the seam (the close, the kill, the resume), not the start."""
    assert got, "the subscriber got nothing"
    return every[every.index(got[0]) :]


@contextlib.asynccontextmanager
async def writing(services, account: Account) -> AsyncIterator[list[int]]:
    """Items created one after another (the items use case, as a request would) until the
    block ends; yields the ids committed so far."""
    principal = await services.auth.authenticate(account.access_token)
    done: list[int] = []
    stop = asyncio.Event()

    async def write() -> None:
        while not stop.is_set():
            item = await services.items.create(principal, CreateItem(title=f"Steady {len(done)}"))
            done.append(item.id)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(write())
    try:
        yield done
    finally:
        stop.set()
        await task


async def until(condition: Callable[[], bool], within: float = 60) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def burst(services, account: Account, count: int) -> None:
    """`count` events committed in one transaction."""
    async with services.database.transaction() as uow:
        for number in range(count):
            item = item_record(
                id=900_000 + number,
                owner_id=account.id,
                title=f"Burst {number}",
                now=account.user.created_at,
            )
            await uow.events.append(item_event(EventType.ITEM_CREATED, item))


async def wait_for(received: list[dict[str, Any]], event_id: str, within: float = 30) -> None:
    async with asyncio.timeout(within):
        while not any(event["eventId"] == event_id for event in received):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_after_replays_then_goes_live_with_no_gap_and_no_duplicate(
    settings, services, client, tmp_path
):
    watcher = await make_account(services, client)
    writer = await make_account(services, client)
    for number in range(5):
        made = await client.post(
            "/api/v1/items", json={"title": f"Before {number}"}, headers=writer.headers
        )
        assert made.status_code == 201
    before = await event_ids(client, watcher)
    assert len(before) == 5
    with servers(settings, tmp_path, 1) as (server,):
        received: list[dict[str, Any]] = []
        async with connected(server.ws, watcher.access_token) as socket:
            # Writes go on while the subscription replays and joins the live stream.
            async with writing(services, writer):
                await asyncio.sleep(0.3)
                await socket.subscribe("1", RESUME, after=before[1])
                reading = asyncio.create_task(take(socket, received))
                await asyncio.sleep(1.5)
            every = await event_ids(client, watcher)
            await wait_for(received, every[-1])
            reading.cancel()
    got = [event["eventId"] for event in received]
    assert got == every[2:], "the replay and the live stream met with a gap or a duplicate"
    assert all(event["cursor"] == event["eventId"] for event in received)
    # The cursor goes back to the events API as is.
    assert await event_ids(client, watcher, after=received[3]["cursor"]) == every[6:]


async def test_a_cursor_the_caller_may_not_see_is_refused(settings, services, client, tmp_path):
    watcher = await make_account(services, client)
    other = await make_account(services, client)
    draft = await client.post(
        "/api/v1/items", json={"title": "Hidden", "status": "draft"}, headers=other.headers
    )
    assert draft.status_code == 201
    (hidden,) = await event_ids(client, other)
    with servers(settings, tmp_path, 1) as (server,):
        async with connected(server.ws, watcher.access_token) as socket:
            for cursor in (hidden, "evt_nope"):
                await socket.subscribe(cursor, RESUME, after=cursor)
                message = await socket.receive()
                assert message["type"] == "next", message  # as for a bad ownerId
                (error,) = message["payload"]["errors"]
                assert error["extensions"]["code"] == "BAD_USER_INPUT", error
                assert error["extensions"]["errors"][0]["loc"] == ["after"], error
                assert (await socket.receive())["type"] == "complete"


async def test_sigterm_sends_what_committed_before_the_close_and_a_resume_misses_nothing(
    settings, services, client, tmp_path
):
    watcher = await make_account(services, client)
    writer = await make_account(services, client)
    first = start_server(settings, tmp_path, "first")
    received: list[dict[str, Any]] = []
    try:
        async with connected(first.ws, watcher.access_token) as socket:
            await socket.subscribe("1", RESUME)
            reading = asyncio.create_task(take(socket, received))
            async with writing(services, writer) as done:
                await until(lambda: len(done) >= 20)
            await burst(services, writer, 300)  # committed, then at once:
            first.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(reading, 30)
            assert socket.connection.close_code == 1001
    finally:
        stop_server(first)
    committed = await event_ids(client, watcher)
    got = [event["eventId"] for event in received]
    assert got == since_first(got, committed)

    second = start_server(settings, tmp_path, "second")
    try:
        async with connected(second.ws, watcher.access_token) as socket:
            await socket.subscribe("1", RESUME, after=received[-1]["cursor"])
            resumed: list[dict[str, Any]] = []
            reading = asyncio.create_task(take(socket, resumed))
            async with writing(services, writer) as done:
                await until(lambda: len(done) >= 10)
            every = await event_ids(client, watcher)
            await wait_for(resumed, every[-1])
            reading.cancel()
    finally:
        stop_server(second)
    got = [event["eventId"] for event in received + resumed]
    assert got == since_first(got, every)


async def test_after_sigkill_a_resume_with_the_last_cursor_misses_nothing(
    settings, services, client, tmp_path
):
    watcher = await make_account(services, client)
    writer = await make_account(services, client)
    first = start_server(settings, tmp_path, "first")
    second = None
    received: list[dict[str, Any]] = []
    resumed: list[dict[str, Any]] = []
    try:
        async with contextlib.AsyncExitStack() as sockets, contextlib.AsyncExitStack() as writes:
            done = await writes.enter_async_context(writing(services, writer))
            async with connected(first.ws, watcher.access_token) as socket:
                await socket.subscribe("1", RESUME)
                reading = asyncio.create_task(take(socket, received))
                await until(lambda: len(received) >= 10)
                first.process.send_signal(signal.SIGKILL)
                await asyncio.to_thread(first.process.wait, 30)
                await asyncio.wait_for(reading, 60)
            killed_at = len(done)
            second = start_server(settings, tmp_path, "second")
            socket = await sockets.enter_async_context(connected(second.ws, watcher.access_token))
            await socket.subscribe("1", RESUME, after=received[-1]["cursor"])
            reading = asyncio.create_task(take(socket, resumed))
            await until(lambda: len(done) >= killed_at + 10)  # writes go on after the resume
            await writes.aclose()  # the writes stop; the socket stays open
            every = await event_ids(client, watcher)
            await wait_for(resumed, every[-1])
            reading.cancel()
    finally:
        stop_server(first)
        if second is not None:
            stop_server(second)
    got = [event["eventId"] for event in received + resumed]
    assert len(got) == len(set(got)), "an event was sent twice"
    assert got == since_first(got, every)
