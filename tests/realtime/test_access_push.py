"""A running subscription ends at once when its access changes, pushed to the serving process.

The server's periodic recheck is set to a minute, so only the push (a NOTIFY on commit,
from triggers) can end these subscriptions within the ten seconds the tests allow.
"""

from __future__ import annotations

import pytest

from tests.factories import make_account
from tests.realtime.served import connected, servers, until_live


@pytest.fixture(scope="module")
def slow_recheck(settings, tmp_path_factory):
    with servers(
        settings, tmp_path_factory.mktemp("push"), 1, SUBSCRIPTION_RECHECK_SECONDS="60"
    ) as (server,):
        yield server


async def ended_with(socket) -> str:
    """The code of the error that ended the subscription (within ten seconds)."""
    while True:
        message = await socket.receive(within=10)
        if message["type"] == "ping":
            continue
        if message["type"] == "error":
            return str(message["payload"][0]["extensions"]["code"])
        if message["type"] == "next" and message["payload"].get("errors"):
            return str(message["payload"]["errors"][0]["extensions"]["code"])


async def test_a_revoked_token_ends_its_subscription_at_once(services, client, slow_recheck):
    watcher = await make_account(services, client)
    await until_live(slow_recheck, 0)  # an earlier test's subscription has ended
    async with connected(slow_recheck.ws, watcher.access_token) as socket:
        await socket.subscribe("1")
        await until_live(slow_recheck, 1)  # added to the fan-out: a push now reaches it
        revoked = await client.post("/api/v1/auth/revoke", data={"token": watcher.access_token})
        assert revoked.status_code == 200
        assert await ended_with(socket) == "UNAUTHENTICATED"
        assert (await socket.closed())[0] == 4403


async def test_a_deactivated_account_ends_its_subscription_at_once(services, client, slow_recheck):
    admin = await make_account(services, client, role="admin")
    watcher = await make_account(services, client)
    await until_live(slow_recheck, 0)  # an earlier test's subscription has ended
    async with connected(slow_recheck.ws, watcher.access_token) as socket:
        await socket.subscribe("1")
        await until_live(slow_recheck, 1)  # added to the fan-out: a push now reaches it
        changed = await client.patch(
            f"/api/v1/users/{watcher.id}", json={"is_active": False}, headers=admin.headers
        )
        assert changed.status_code == 200, changed.text
        assert await ended_with(socket) == "UNAUTHENTICATED"


async def test_a_demoted_admin_s_subscription_ends_at_once(services, client, slow_recheck):
    admin = await make_account(services, client, role="admin")
    demoted = await make_account(services, client, role="admin")
    await until_live(slow_recheck, 0)  # an earlier test's subscription has ended
    async with connected(slow_recheck.ws, demoted.access_token) as socket:
        await socket.subscribe("1")
        await until_live(slow_recheck, 1)  # added to the fan-out: a push now reaches it
        changed = await client.patch(
            f"/api/v1/users/{demoted.id}", json={"role": "member"}, headers=admin.headers
        )
        assert changed.status_code == 200, changed.text
        assert await ended_with(socket) == "FORBIDDEN"


async def test_another_account_s_change_ends_nothing(services, client, slow_recheck):
    admin = await make_account(services, client, role="admin")
    watcher = await make_account(services, client)
    other = await make_account(services, client)
    await until_live(slow_recheck, 0)  # an earlier test's subscription has ended
    async with connected(slow_recheck.ws, watcher.access_token) as socket:
        await socket.subscribe("1")
        await until_live(slow_recheck, 1)  # added to the fan-out: a push now reaches it
        changed = await client.patch(
            f"/api/v1/users/{other.id}", json={"is_active": False}, headers=admin.headers
        )
        assert changed.status_code == 200
        made = await client.post(
            "/api/v1/items", json={"title": "Still here"}, headers=admin.headers
        )
        assert made.status_code == 201
        assert (await socket.next_event())["item"]["title"] == "Still here"
