"""Every item change is an event, written in the change's own transaction."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tandem.domain.events.documents import item_event
from tandem.domain.events.records import EventType
from tandem.domain.items.commands import CreateItem
from tandem.persistence.database import asyncpg_dsn
from tests.factories import make_account, make_item


async def _events(client, account, **params):
    response = await client.get("/api/v1/events", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_create_update_delete_are_events_with_the_item_as_get_shows_it(services, client):
    owner = await make_account(services, client)
    item = await make_item(client, owner, price="19.90", tags=["a"])
    changed = await client.patch(
        f"/api/v1/items/{item['id']}", json={"title": "Renamed"}, headers=owner.headers
    )
    shown = (await client.get(f"/api/v1/items/{item['id']}", headers=owner.headers)).json()
    assert (
        await client.delete(f"/api/v1/items/{item['id']}", headers=owner.headers)
    ).status_code == 204

    page = await _events(client, owner)
    assert [event["type"] for event in page["items"]] == [
        "item.created",
        "item.updated",
        "item.deleted",
    ]
    created, updated, deleted = page["items"]
    assert created["data"]["item"] == item
    assert updated["data"]["item"] == changed.json() == shown
    assert deleted["data"]["item"] == {"id": item["id"], "node_id": item["node_id"]}
    assert all(event["id"].startswith("evt_") for event in page["items"])
    assert page["has_more"] is False and page["next_cursor"] is None

    one = await client.get(f"/api/v1/events/{updated['id']}", headers=owner.headers)
    assert one.status_code == 200 and one.json() == updated


async def test_an_update_that_changes_nothing_is_no_event(services, client):
    owner = await make_account(services, client)
    item = await make_item(client, owner, title="Same")
    await client.patch(f"/api/v1/items/{item['id']}", json={"title": "Same"}, headers=owner.headers)
    assert [e["type"] for e in (await _events(client, owner))["items"]] == ["item.created"]


async def test_a_rolled_back_change_leaves_no_event_and_no_notification(
    services, client, database_url
):
    owner = await make_account(services, client)
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    heard: list[str] = []
    await listener.add_listener("tandem_events", lambda *args: heard.append(args[-1]))
    try:
        item = await make_item(client, owner)
        # The committed change's wake-up goes out after its commit, from another task.
        async with asyncio.timeout(30):
            while not heard:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError):
            async with services.database.transaction() as uow:
                record = await uow.items.get_visible(item["id"], owner.user and _viewer(owner))
                await uow.events.append(item_event(EventType.ITEM_UPDATED, record))
                raise RuntimeError("the change fails after its event was written")
        await asyncio.sleep(0.3)  # time for a wrong wake-up to arrive
    finally:
        await listener.close()
    events = (await _events(client, owner))["items"]
    assert [event["type"] for event in events] == ["item.created"]
    # The committed change woke the listeners (once, after its commit; the payload carries
    # nothing: readers read from their cursor); the rolled-back one never did.
    assert heard == [""]


def _viewer(account):
    from tandem.domain.principal import Viewer

    return Viewer(user_id=account.id, is_admin=False)


async def test_deleting_an_account_announces_each_of_its_items_deleted(services, client):
    owner = await make_account(services, client)
    other = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    public = await make_item(client, owner)
    draft = await make_item(client, owner, status="draft")
    assert (await client.delete("/api/v1/users/me", headers=owner.headers)).status_code == 204

    def deleted(page):
        return sorted(e["data"]["item"]["id"] for e in page["items"] if e["type"] == "item.deleted")

    assert deleted(await _events(client, admin)) == sorted([public["id"], draft["id"]])
    assert deleted(await _events(client, other)) == [public["id"]]  # a draft stays private
    shown = [e for e in (await _events(client, admin))["items"] if e["type"] == "item.deleted"]
    by_id = {e["data"]["item"]["id"]: e for e in shown}
    assert by_id[public["id"]]["data"]["item"] == {"id": public["id"], "node_id": public["node_id"]}
    one = await client.get(f"/api/v1/events/{by_id[public['id']]['id']}", headers=other.headers)
    assert one.status_code == 200


async def test_item_writes_do_not_notify_in_their_transaction_and_wake_ups_coalesce(
    services, client, database_url
):
    # A NOTIFY in the writer's transaction holds PostgreSQL's one notify lock through the
    # commit's flush, so notifying writes queue behind one another (docs/performance.md,
    # "The NOTIFY ceiling"). Writes now ask for a wake-up; the process sends it after the
    # commit, at most one round per 5 ms, to every LISTENer.
    owner = await make_account(services, client)
    principal = await services.auth.authenticate(owner.access_token)
    statements: list[str] = []
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    heard: list[str] = []
    await listener.add_listener("tandem_events", lambda *args: heard.append(args[-1]))
    services.database.observers.append(statements.append)
    rounds = services.database.wakeups.rounds
    try:
        await asyncio.gather(
            *(services.items.create(principal, CreateItem(title=f"W {n}")) for n in range(40))
        )
        async with asyncio.timeout(30):
            while not heard:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
    finally:
        services.database.observers.remove(statements.append)
        await listener.close()
    assert not [sql for sql in statements if "pg_notify" in sql.lower()]
    sent = services.database.wakeups.rounds - rounds
    assert 1 <= sent < 40, sent  # coalesced: fewer rounds than commits
    assert heard == [""] * len(heard) and 1 <= len(heard) <= sent
