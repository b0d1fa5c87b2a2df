"""Deliveries to a real receiver, verified with the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.factories import make_account, make_item
from tests.webhooks.helpers import register, worker_running
from tests.webhooks.receiver import HANG, Receiver, running


async def _deliveries(client, account, webhook_id):
    response = await client.get(
        f"/api/v1/webhooks/{webhook_id}/deliveries", headers=account.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _settled(client, account, webhook_id, count=1, within=10.0):
    """The deliveries log once `count` deliveries are no longer pending."""
    async with asyncio.timeout(within):
        while True:
            log = await _deliveries(client, account, webhook_id)
            if len(log) >= count and all(d["status"] != "pending" for d in log):
                return log
            await asyncio.sleep(0.05)


async def test_a_delivery_arrives_signed_per_standard_webhooks(services, client, receiver, worker):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    item = await make_item(client, owner)

    (request,) = await receiver.wait_for(1)
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    event = (await client.get("/api/v1/events", headers=owner.headers)).json()["items"][0]
    assert payload == event
    assert payload["type"] == "item.created" and payload["data"]["item"] == item
    assert request.headers["webhook-id"] == event["id"]
    assert request.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)

    (delivery,) = await _settled(client, owner, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["event_id"] == event["id"]
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    assert delivery["attempts"][0]["response_excerpt"] == "ok"


async def test_a_receiver_failing_twice_gets_it_once_as_a_success(
    services, client, receiver, worker
):
    receiver.plan = [500, 503]
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    await make_item(client, owner)

    requests = await receiver.wait_for(3)
    assert len(set(receiver.ids())) == 1  # one event, one webhook-id on every attempt
    for request in requests:
        Webhook(hook["secret"]).verify(request.body, request.headers)
    (delivery,) = await _settled(client, owner, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 3
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 3


DOOM = """
CREATE FUNCTION doom_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.title = 'doomed' THEN RAISE EXCEPTION 'doomed at commit'; END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER doom AFTER UPDATE ON items DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION doom_at_commit();
"""


async def test_a_rolled_back_change_sends_nothing(services, client, receiver, worker):
    owner = await make_account(services, client)
    await register(client, owner, receiver.url)
    item = await make_item(client, owner, title="kept")
    await receiver.wait_for(1)
    # The change fails at commit, after its event and delivery were written: a deferred
    # constraint trigger refuses the new title only when the transaction commits.
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute(DOOM)
    try:
        refused = await client.patch(
            f"/api/v1/items/{item['id']}", json={"title": "doomed"}, headers=owner.headers
        )
    finally:
        async with services.database.transaction() as uow:
            await uow.connection.raw.execute(
                "DROP TRIGGER doom ON items; DROP FUNCTION doom_at_commit()"
            )
    assert refused.status_code == 500, refused.text  # the commit failed: never a 200
    assert (await client.get(f"/api/v1/items/{item['id']}", headers=owner.headers)).json()[
        "title"
    ] == "kept"
    renamed = await client.patch(
        f"/api/v1/items/{item['id']}", json={"title": "renamed"}, headers=owner.headers
    )
    assert renamed.status_code == 200
    await receiver.wait_for(2)
    await asyncio.sleep(0.5)
    titles = [json.loads(r.body)["data"]["item"].get("title") for r in receiver.requests]
    assert titles == ["kept", "renamed"]
    events = (await client.get("/api/v1/events", headers=owner.headers)).json()["items"]
    assert [event["type"] for event in events] == ["item.created", "item.updated"]


async def test_giving_up_disables_the_endpoint(services, client, receiver, worker_settings):
    receiver.default = 500
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    async with worker_running(worker_settings(webhook_retry_schedule="0.05,0.05")):
        await make_item(client, owner)
        (delivery,) = await _settled(client, owner, hook["id"])
    assert delivery["status"] == "failed" and len(delivery["attempts"]) == 3
    shown = (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)).json()
    assert shown["active"] is False and "3 failed attempts" in shown["disabled_reason"]
    # A disabled endpoint is sent nothing new, and cannot be redelivered to until enabled.
    await make_item(client, owner)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 3
    again = await client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        headers=owner.headers,
    )
    assert again.status_code == 409
    enabled = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"active": True}, headers=owner.headers
    )
    assert enabled.json()["active"] is True and enabled.json()["disabled_reason"] is None


async def test_redelivery_keeps_the_webhook_id(services, client, receiver, worker):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    await make_item(client, owner)
    (first,) = await receiver.wait_for(1)
    (delivery,) = await _settled(client, owner, hook["id"])

    again = await client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        headers=owner.headers,
    )
    assert again.status_code == 202, again.text
    assert again.json()["event_id"] == delivery["event_id"] and again.json()["status"] == "pending"
    second = (await receiver.wait_for(2))[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery["event_id"]
    assert second.body == first.body
    Webhook(hook["secret"]).verify(second.body, second.headers)
    log = await _settled(client, owner, hook["id"], count=2)
    assert [d["status"] for d in log] == ["succeeded", "succeeded"]  # newest first


async def test_during_a_rotation_both_secrets_verify(services, client, receiver, worker):
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    rotated = await client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=owner.headers
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != hook["secret"] and new_secret.startswith("whsec_")
    await make_item(client, owner)

    (request,) = await receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split()) == 2
    assert Webhook(hook["secret"]).verify(request.body, request.headers)
    assert Webhook(new_secret).verify(request.body, request.headers)
    # The secret is never shown again.
    assert (
        "secret"
        not in (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)).json()
    )


async def test_redirects_are_not_followed_and_answers_are_capped(
    services, client, receiver, worker
):
    receiver.plan = [302]
    receiver.response_headers = [(b"location", b"http://127.0.0.1:1/elsewhere")]
    receiver.response_body = b"x" * 200_000
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    await make_item(client, owner)
    (delivery,) = await _settled(client, owner, hook["id"])
    redirect, success = delivery["attempts"]
    assert redirect["status_code"] == 302 and "not followed" in redirect["error"]
    assert success["status_code"] == 200
    assert len(redirect["response_excerpt"]) == 1024
    assert len(receiver.requests) == 2  # nothing went to the redirect's target


async def test_an_answer_slower_than_the_timeout_fails_and_is_retried(
    services, client, worker_settings
):
    slow = Receiver(plan=[HANG])
    async with running(slow), worker_running(worker_settings(webhook_timeout_seconds=0.5)):
        owner = await make_account(services, client)
        hook = await register(client, owner, slow.url)
        await make_item(client, owner)
        (delivery,) = await _settled(client, owner, hook["id"])
        slow.release()
    timed_out, success = delivery["attempts"]
    assert timed_out["status_code"] is None and "within 0.5 s" in timed_out["error"]
    assert success["status_code"] == 200


async def test_endpoints_hear_only_what_their_owner_may_see(services, client, worker):
    async with (
        running(Receiver()) as mine,
        running(Receiver()) as theirs,
        running(Receiver()) as admins,
    ):
        owner = await make_account(services, client)
        other = await make_account(services, client)
        admin = await make_account(services, client, role="admin")
        await register(client, owner, mine.url)
        await register(client, other, theirs.url)
        await register(client, admin, admins.url)
        draft = await make_item(client, owner, status="draft")
        public = await make_item(client, owner)
        await mine.wait_for(2)
        await admins.wait_for(2)
        await theirs.wait_for(1)
        await asyncio.sleep(0.5)

        def items(receiver):
            return [json.loads(r.body)["data"]["item"]["id"] for r in receiver.requests]

        assert sorted(items(mine)) == sorted(items(admins)) == sorted([draft["id"], public["id"]])
        assert items(theirs) == [public["id"]]


async def test_only_the_chosen_event_types_are_sent(services, client, receiver, worker):
    owner = await make_account(services, client)
    await register(client, owner, receiver.url, events=["item.deleted"])
    item = await make_item(client, owner)
    await client.patch(f"/api/v1/items/{item['id']}", json={"title": "B"}, headers=owner.headers)
    await client.delete(f"/api/v1/items/{item['id']}", headers=owner.headers)
    (request,) = await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1
    assert json.loads(request.body)["type"] == "item.deleted"


def _sample(name, **labels):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_deliveries_attempts_and_lag(services, client, receiver, worker):
    receiver.plan = [500]
    succeeded = _sample("tandem_webhook_deliveries_total", outcome="succeeded")
    http_errors = _sample("tandem_webhook_attempts_total", outcome="http_error")
    finished = _sample("tandem_webhook_attempts_per_delivery_count")
    two_or_fewer = _sample("tandem_webhook_attempts_per_delivery_bucket", le="2.0")
    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    await make_item(client, owner)
    await _settled(client, owner, hook["id"])

    assert _sample("tandem_webhook_deliveries_total", outcome="succeeded") == succeeded + 1
    assert _sample("tandem_webhook_attempts_total", outcome="http_error") == http_errors + 1
    assert _sample("tandem_webhook_attempts_per_delivery_count") == finished + 1
    assert _sample("tandem_webhook_attempts_per_delivery_bucket", le="2.0") == two_or_fewer + 1
    exposed = (await client.get("/metrics")).text
    for name in (
        "tandem_webhook_deliveries_total",
        "tandem_webhook_attempts_total",
        "tandem_webhook_attempts_per_delivery_bucket",
        "tandem_outbox_lag_seconds",
    ):
        assert name in exposed, name
