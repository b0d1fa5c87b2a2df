"""itemChanged over graphql-transport-ws, against real `tandem serve` processes on one database."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import pytest
import websockets

from tandem.domain import global_ids
from tandem.domain.events.documents import item_event
from tandem.domain.events.records import EventType
from tests.factories import item_record, make_account
from tests.realtime.served import connected, servers, until_live

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def two(settings, tmp_path_factory):
    with servers(settings, tmp_path_factory.mktemp("two"), 2) as started:
        yield started


def node(user_id: int) -> str:
    return global_ids.encode("User", user_id)


async def test_an_item_changed_through_another_process_reaches_the_subscriber(
    services, client, two
):
    listener, writer = two
    watcher = await make_account(services, client)
    owner = await make_account(services, client)
    await until_live(listener, 0)  # an earlier test's subscriptions have ended
    async with connected(listener.ws, watcher.access_token) as socket:
        await socket.subscribe("1")
        await until_live(listener, 1)  # the subscription is registered before the change
        async with httpx.AsyncClient(base_url=writer.http) as other:
            created = await other.post(
                "/api/v1/items", json={"title": "Lamp", "price": "12.50"}, headers=owner.headers
            )
            assert created.status_code == 201, created.text
            event = await socket.next_event()
            assert event["kind"] == "CREATED"
            assert event["itemId"] == created.json()["node_id"]
            assert event["item"]["title"] == "Lamp"
            assert event["item"]["owner"]["name"] == owner.user.name

            mutation = (
                'mutation($id: ID!) { updateItem(id: $id, input: {title: "Desk lamp"}) '
                "{ version } }"
            )
            answer = await other.post(
                "/graphql",
                json={"query": mutation, "variables": {"id": created.json()["node_id"]}},
                headers=owner.headers,
            )
            assert answer.json()["data"]["updateItem"]["version"] == 2, answer.text
            event = await socket.next_event()
            assert (event["kind"], event["item"]["title"], event["item"]["version"]) == (
                "UPDATED",
                "Desk lamp",
                2,
            )

            gone = await other.delete(
                f"/api/v1/items/{created.json()['id']}", headers=owner.headers
            )
            assert gone.status_code == 204
            event = await socket.next_event()
            assert event == {"kind": "DELETED", "itemId": created.json()["node_id"], "item": None}


async def test_drafts_reach_only_their_owner_and_admins(services, client, two):
    listener, writer = two
    owner = await make_account(services, client)
    other = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    await until_live(listener, 0)
    await until_live(writer, 0)
    async with (
        connected(listener.ws, owner.access_token) as mine,
        connected(writer.ws, other.access_token) as theirs,
        connected(listener.ws, admin.access_token) as admins,
    ):
        for socket in (mine, theirs, admins):
            await socket.subscribe("s")
        await until_live(listener, 2)
        await until_live(writer, 1)
        async with httpx.AsyncClient(base_url=writer.http) as http:
            draft = await http.post(
                "/api/v1/items", json={"title": "Secret", "status": "draft"}, headers=owner.headers
            )
            public = await http.post(
                "/api/v1/items", json={"title": "Public"}, headers=owner.headers
            )
            assert draft.status_code == public.status_code == 201
        for socket in (mine, admins):
            assert (await socket.next_event())["item"]["title"] == "Secret"
            assert (await socket.next_event())["item"]["title"] == "Public"
        # The other member hears the published item first and only: the draft never came.
        assert (await theirs.next_event())["item"]["title"] == "Public"
        with pytest.raises(TimeoutError):
            await theirs.next_event(within=1.0)


async def test_owner_filter(services, client, two):
    listener, _ = two
    watcher = await make_account(services, client)
    first = await make_account(services, client)
    second = await make_account(services, client)
    await until_live(listener, 0)
    async with connected(listener.ws, watcher.access_token) as socket:
        await socket.subscribe("1", owner=node(second.id))
        await until_live(listener, 1)
        async with httpx.AsyncClient(base_url=listener.http) as http:
            await http.post("/api/v1/items", json={"title": "A"}, headers=first.headers)
            await http.post("/api/v1/items", json={"title": "B"}, headers=second.headers)
        assert (await socket.next_event())["item"]["title"] == "B"


async def test_a_revoked_token_ends_the_subscription(services, client, two):
    listener, _ = two
    watcher = await make_account(services, client)
    await until_live(listener, 0)
    async with connected(listener.ws, watcher.access_token) as socket:
        await socket.subscribe("1")
        await until_live(listener, 1)
        revoked = await client.post("/api/v1/auth/revoke", data={"token": watcher.access_token})
        assert revoked.status_code == 200
        message = await socket.receive(within=10)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        code, _reason = await socket.closed()
        assert code == 4403


async def test_an_expired_token_ends_the_subscription(settings, services, client, tmp_path):
    watcher = await make_account(services, client)
    with servers(settings, tmp_path, 1) as (server,):
        short = services_with_ttl(settings, services, seconds=3)
        # A real login by the same signer, with a three-second access token.
        token = (
            await short.auth.login(email=watcher.user.email, password=watcher.password)
        ).access_token
        async with connected(server.ws, token) as socket:
            await socket.subscribe("1")
            message = await socket.receive(within=10)
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert "expired" in message["payload"][0]["message"]
            assert (await socket.closed())[0] == 4403


def services_with_ttl(settings, services, *, seconds: int):
    from tandem.app import services_for

    return services_for(
        settings.model_copy(update={"access_token_ttl_seconds": seconds}), services.database
    )


async def test_a_bad_token_closes_the_socket_with_4403(two):
    listener, _ = two
    async with websockets.connect(listener.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        )
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 4403


async def test_an_anonymous_connection_init_closes_the_socket_with_4403(two):
    listener, _ = two
    async with websockets.connect(listener.ws, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 4403


async def test_the_legacy_graphql_ws_protocol_is_refused(two):
    listener, _ = two
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with websockets.connect(listener.ws, subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406


async def test_a_foreign_origin_is_refused_and_the_same_origin_let_in(services, client, two):
    listener, _ = two
    watcher = await make_account(services, client)
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connected(listener.ws, watcher.access_token, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    same = f"http://127.0.0.1:{listener.port}"
    async with connected(listener.ws, watcher.access_token, origin=same) as socket:
        await socket.send({"type": "ping"})
        assert (await socket.receive())["type"] == "pong"


async def test_at_most_twenty_subscriptions_per_connection(services, client, two):
    listener, _ = two
    watcher = await make_account(services, client)
    async with connected(listener.ws, watcher.access_token) as socket:
        for number in range(20):
            await socket.subscribe(str(number))
        await socket.subscribe("21")
        message = await socket.receive()
        assert message["type"] == "error" and message["id"] == "21", message
        assert "limit" in message["payload"][0]["message"].lower()


async def test_a_subscriber_too_far_behind_is_sent_an_error_and_closed(
    settings, services, client, tmp_path
):
    watcher = await make_account(services, client)
    with servers(settings, tmp_path, 1, SUBSCRIPTION_BACKLOG="100") as (server,):
        async with connected(server.ws, watcher.access_token) as socket:
            await socket.subscribe("1")
            await until_live(server, 1)
            # 300 events in one commit: far more than the subscriber may lag behind.
            async with services.database.transaction() as uow:
                for number in range(300):
                    item = item_record(
                        id=10_000 + number,
                        owner_id=watcher.id,
                        title=f"Burst {number}",
                        now=watcher.user.created_at,
                    )
                    await uow.events.append(item_event(EventType.ITEM_CREATED, item))
            messages = []
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    messages.append(
                        json.loads(await asyncio.wait_for(socket.connection.recv(), 10))
                    )
            assert len(messages) <= 200  # never more than the backlog, twice over
            assert messages[-1]["type"] == "error", messages[-1]
            assert messages[-1]["payload"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
            assert socket.connection.close_code == 1013
        metrics = await scrape(server)
        assert "tandem_subscription_slow_disconnects_total 1.0" in metrics


async def test_metrics_count_live_subscriptions_and_events(services, client, tmp_path, settings):
    watcher = await make_account(services, client)
    with servers(settings, tmp_path, 1) as (server,):
        async with connected(server.ws, watcher.access_token) as socket:
            await socket.subscribe("1")
            await socket.subscribe("2")
            await until_live(server, 2)
            text = await scrape(server)
            assert "tandem_subscriptions_live 2.0" in text
            async with httpx.AsyncClient(base_url=server.http) as http:
                await http.post("/api/v1/items", json={"title": "A"}, headers=watcher.headers)
            await socket.next_event()
            await socket.next_event()
            text = await scrape(server)
            assert "tandem_subscription_events_fanned_out_total 2.0" in text
            assert "tandem_subscription_feed_events_read_total 1.0" in text


async def scrape(server) -> str:
    async with httpx.AsyncClient(base_url=server.http) as http:
        return (await http.get("/metrics")).text


async def test_sigterm_closes_open_subscriptions_with_1001(settings, services, client, tmp_path):
    watcher = await make_account(services, client)
    with servers(settings, tmp_path, 1) as (server,):
        async with connected(server.ws, watcher.access_token) as socket:
            await socket.subscribe("1")
            await until_live(server, 1)
            server.process.send_signal(signal.SIGTERM)
            code, _reason = await socket.closed(within=15)
            assert code == 1001
        assert await asyncio.to_thread(server.process.wait, 30) == 0
        assert "Traceback" not in server.output()


async def test_after_losing_its_listening_connection_a_process_catches_up(
    settings, services, client, tmp_path
):
    watcher = await make_account(services, client)
    with servers(settings, tmp_path, 1) as (server,):
        async with connected(server.ws, watcher.access_token) as socket:
            await socket.subscribe("1")
            await until_live(server, 1)
            async with services.database.reader() as uow:
                cut = await uow.connection.raw.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'tandem-subscriptions' AND datname = current_database()"
                )
            assert cut >= 1
            # Committed while the server cannot hear NOTIFY (it reconnects after a second).
            for title in ("During the gap 1", "During the gap 2"):
                made = await client.post(
                    "/api/v1/items", json={"title": title}, headers=watcher.headers
                )
                assert made.status_code == 201
            first = await socket.next_event(within=15)
            second = await socket.next_event(within=15)
            assert [first["item"]["title"], second["item"]["title"]] == [
                "During the gap 1",
                "During the gap 2",
            ]
