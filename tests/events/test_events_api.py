"""The events API: oldest first with a cursor, and only what the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tandem.worker.runner import Worker
from tests.factories import make_account, make_item


async def _list(client, account, **params):
    response = await client.get("/api/v1/events", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_drafts_events_reach_only_their_owner_and_admins(services, client):
    owner = await make_account(services, client)
    other = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    draft = await make_item(client, owner, status="draft")
    public = await make_item(client, owner, status="published")

    def ids(page):
        return [event["data"]["item"]["id"] for event in page["items"]]

    assert ids(await _list(client, owner)) == [draft["id"], public["id"]]
    assert ids(await _list(client, admin)) == [draft["id"], public["id"]]
    assert ids(await _list(client, other)) == [public["id"]]

    draft_event = (await _list(client, owner))["items"][0]["id"]
    hidden = await client.get(f"/api/v1/events/{draft_event}", headers=other.headers)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "NOT_FOUND"
    assert (
        await client.get(f"/api/v1/events/{draft_event}", headers=admin.headers)
    ).status_code == 200
    # Nor can a cursor be used to find out about it.
    probe = await client.get("/api/v1/events", params={"after": draft_event}, headers=other.headers)
    assert probe.status_code == 422


async def test_pages_oldest_first_with_a_cursor_and_a_link(services, client):
    owner = await make_account(services, client)
    made = [await make_item(client, owner) for _ in range(5)]
    first = await client.get("/api/v1/events", params={"limit": 2}, headers=owner.headers)
    body = first.json()
    assert [e["data"]["item"]["id"] for e in body["items"]] == [made[0]["id"], made[1]["id"]]
    assert body["has_more"] is True and body["next_cursor"] == body["items"][-1]["id"]
    assert 'rel="next"' in first.headers["link"]

    seen = [e["data"]["item"]["id"] for e in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        body = await _list(client, owner, limit=2, after=cursor)
        seen += [e["data"]["item"]["id"] for e in body["items"]]
        cursor = body["next_cursor"]
    assert seen == [item["id"] for item in made]

    # Polling with the last id seen returns what happened since, and nothing else.
    last = (await _list(client, owner, limit=100))["items"][-1]["id"]
    assert (await _list(client, owner, after=last))["items"] == []
    later = await make_item(client, owner)
    assert [e["data"]["item"]["id"] for e in (await _list(client, owner, after=last))["items"]] == [
        later["id"]
    ]


async def test_filters_by_type(services, client):
    owner = await make_account(services, client)
    item = await make_item(client, owner)
    await client.patch(f"/api/v1/items/{item['id']}", json={"title": "B"}, headers=owner.headers)
    await client.delete(f"/api/v1/items/{item['id']}", headers=owner.headers)

    def kinds(page):
        return [event["type"] for event in page["items"]]

    assert kinds(await _list(client, owner, type="item.updated")) == ["item.updated"]
    assert kinds(await _list(client, owner, type="item.created,item.deleted")) == [
        "item.created",
        "item.deleted",
    ]
    assert len((await _list(client, owner, type="item.*"))["items"]) == 3
    wrong = await client.get(
        "/api/v1/events", params={"type": "user.created"}, headers=owner.headers
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["loc"][-1] == "type"


async def test_events_need_a_signed_in_caller_with_items_read(services, client):
    assert (await client.get("/api/v1/events")).status_code == 401
    owner = await make_account(services, client)
    assert (
        await client.get("/api/v1/events/evt_nonsense", headers=owner.headers)
    ).status_code == 404


async def test_the_worker_purges_events_past_their_retention(services, client, settings):
    owner = await make_account(services, client)
    old, kept = await make_item(client, owner), await make_item(client, owner)
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute(
            "UPDATE events SET created_at = $1 WHERE item_id = $2",
            datetime.now(UTC) - timedelta(days=31),
            old["id"],
        )
    from tandem.worker.process import worker_for

    assert settings.database_url is not None
    async with worker_for(settings, settings.database_url) as worker:
        assert isinstance(worker, Worker)
        assert await worker.purge_once() == 1
    assert [e["data"]["item"]["id"] for e in (await _list(client, owner))["items"]] == [kept["id"]]
