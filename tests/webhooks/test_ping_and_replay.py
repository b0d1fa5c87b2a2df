"""Ping and replay, verified on the receiving side with the `standardwebhooks` library;
secrets sealed at rest; an endpoint disabled after its retries mails its owner."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from tandem.domain.webhooks import service as webhook_service
from tests.factories import make_account, make_item
from tests.webhooks.helpers import register, worker_running


def verified(secret: str, requests) -> list[dict]:
    return [Webhook(secret).verify(request.body, request.headers) for request in requests]


async def replay(client, owner, hook, **body):
    body = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in body.items()
    }
    return await client.post(
        f"/api/v1/webhooks/{hook['id']}/replay", json=body, headers=owner.headers
    )


async def test_a_ping_arrives_signed_at_once(services, client, receiver):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)

    response = await client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=owner.headers)

    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["succeeded"] is True and answer["status_code"] == 200
    (request,) = await receiver.wait_for(1)  # no worker runs: the request itself sent it
    (payload,) = verified(hook["secret"], [request])
    assert payload["type"] == "ping" and payload["id"] == answer["ping_id"]
    assert request.headers["webhook-id"] == answer["ping_id"]
    assert payload["data"]["webhook"] == {"id": hook["id"], "url": receiver.url, "events": ["*"]}


async def test_a_ping_says_what_a_failing_receiver_answered(services, client, receiver):
    receiver.default = 503
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    answer = (
        await client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=owner.headers)
    ).json()
    assert answer["succeeded"] is False and answer["status_code"] == 503


async def test_a_replay_sends_each_event_again_with_its_webhook_id(
    services, client, receiver, worker
):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    since = datetime.now(UTC) - timedelta(seconds=1)
    item = await make_item(client, owner)
    await make_item(client, owner)
    updated = await client.patch(
        f"/api/v1/items/{item['id']}", json={"title": "Renamed"}, headers=owner.headers
    )
    assert updated.status_code == 200, updated.text
    first = verified(hook["secret"], await receiver.wait_for(3))

    response = await replay(client, owner, hook, since=since)
    assert response.status_code == 202, response.text
    assert response.json() == {"webhook_id": hook["id"], "queued": 3, "next_since": None}
    again = verified(hook["secret"], (await receiver.wait_for(6))[3:])
    assert sorted(event["id"] for event in again) == sorted(event["id"] for event in first)
    assert sorted(receiver.ids()[3:]) == sorted(receiver.ids()[:3])

    only_updates = await replay(client, owner, hook, since=since, types=["item.updated"])
    assert only_updates.json()["queued"] == 1
    (update,) = verified(hook["secret"], (await receiver.wait_for(7))[6:])
    assert update["type"] == "item.updated"
    assert (
        await replay(client, owner, hook, since=since, until=since + timedelta(microseconds=1))
    ).json()["queued"] == 0


async def test_a_replay_hears_only_what_the_owner_may_see(services, client, receiver):
    owner = await make_account(services, client)
    other = await make_account(services, client)
    hook = await register(client, owner, receiver.url, events=["item.created"])
    since = datetime.now(UTC) - timedelta(seconds=1)
    await make_item(client, other, status="draft")  # another's draft: never heard
    await make_item(client, other, status="published")
    await make_item(client, owner, status="draft")
    mine = await make_item(client, owner)
    await client.delete(f"/api/v1/items/{mine['id']}", headers=owner.headers)  # not subscribed

    assert (await replay(client, owner, hook, since=since)).json()["queued"] == 3


async def test_a_replay_is_bounded_and_says_where_to_go_on(services, client, receiver, monkeypatch):
    monkeypatch.setattr(webhook_service, "REPLAY_MAX_EVENTS", 2)
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    since = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(3):
        await make_item(client, owner)
    events = (await client.get("/api/v1/events", headers=owner.headers)).json()["items"]

    first = (await replay(client, owner, hook, since=since)).json()
    assert first["queued"] == 2
    assert datetime.fromisoformat(first["next_since"]) == datetime.fromisoformat(
        events[2]["created_at"]
    )
    rest = await replay(client, owner, hook, since=datetime.fromisoformat(first["next_since"]))
    assert rest.json() == {"webhook_id": hook["id"], "queued": 1, "next_since": None}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"since": "2026-01-01T00:00:00"},  # no offset: which time is it?
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "2026-01-01T00:00:00Z", "types": ["item.exploded"]},
    ],
)
async def test_a_bad_replay_is_a_422(services, client, receiver, body):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    response = await client.post(
        f"/api/v1/webhooks/{hook['id']}/replay", json=body, headers=owner.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_disabled_endpoint_is_not_replayed_to(services, client, receiver):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"active": False}, headers=owner.headers
    )
    response = await replay(client, owner, hook, since=datetime.now(UTC))
    assert response.status_code == 409, response.text


async def test_secrets_are_sealed_at_rest(services, client, receiver):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    rotated = await client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=owner.headers
    )
    async with services.database.reader() as uow:
        secret, previous = await uow.connection.raw.fetchrow(
            "SELECT secret, previous_secret FROM webhook_endpoints"
        )
    for stored, shown in ((secret, rotated.json()["secret"]), (previous, hook["secret"])):
        assert stored.startswith("sealed:v1:")
        assert shown not in stored and shown.removeprefix("whsec_") not in stored


async def test_an_endpoint_disabled_after_its_retries_mails_its_owner(
    services, client, receiver, worker_settings
):
    receiver.default = 500
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    async with worker_running(worker_settings(mail_concurrency=1)):
        await make_item(client, owner)
        await receiver.wait_for(4)  # the first attempt and three retries
        async with asyncio.timeout(10):
            while True:
                state = (
                    await client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)
                ).json()
                if not state["active"]:
                    break
                await asyncio.sleep(0.05)
    assert state["disabled_reason"].startswith("disabled after 4 failed attempts")
    async with services.database.reader() as uow:
        mails = await uow.connection.raw.fetch(
            "SELECT kind, recipient FROM mail_outbox WHERE kind = 'webhooks_disabled'"
        )
    assert [(mail["kind"], mail["recipient"]) for mail in mails] == [
        ("webhooks_disabled", owner.user.email)
    ]
