"""Webhook endpoints over REST: their owner's alone, validated, with production's SSRF guard."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from tandem.app import create_app, services_for
from tandem.outbound.addresses import AddressGuard, is_public
from tests.factories import make_account, make_item
from tests.webhooks.helpers import register, worker_running
from tests.webhooks.receiver import Receiver, running


async def test_register_list_read_change_delete(services, client):
    owner = await make_account(services, client)
    created = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "events": ["item.created", "item.created"]},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["events"] == ["item.created"] and hook["active"] is True
    assert created.headers["location"].endswith(f"/api/v1/webhooks/{hook['id']}")

    listed = (await client.get("/api/v1/webhooks", headers=owner.headers)).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    changed = await client.patch(
        f"/api/v1/webhooks/{hook['id']}",
        json={"events": ["*"], "active": False},
        headers=owner.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["events"] == ["*"] and changed.json()["active"] is False
    assert changed.json()["disabled_reason"] == "disabled by its owner"

    assert (
        await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/webhooks/{hook['id']}", headers=owner.headers)
    ).status_code == 404


async def test_another_users_endpoints_are_not_found(services, client):
    owner = await make_account(services, client)
    other = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    hook = await register(client, owner, "http://127.0.0.1:9/hooks")
    base = f"/api/v1/webhooks/{hook['id']}"
    for account in (other, admin):
        calls = [
            client.get(base, headers=account.headers),
            client.patch(base, json={"active": False}, headers=account.headers),
            client.delete(base, headers=account.headers),
            client.post(f"{base}/rotate-secret", headers=account.headers),
            client.get(f"{base}/deliveries", headers=account.headers),
            client.post(f"{base}/deliveries/1/redeliver", headers=account.headers),
        ]
        for call in calls:
            response = await call
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "NOT_FOUND"
        assert (await client.get("/api/v1/webhooks", headers=account.headers)).json()["items"] == []
    assert (await client.get(base, headers=owner.headers)).status_code == 200


async def test_another_users_delivery_cannot_be_redelivered_through_my_endpoint(
    services, client, worker
):
    async with running(Receiver()) as receiver:
        owner = await make_account(services, client)
        other = await make_account(services, client)
        theirs = await register(client, owner, receiver.url)
        mine = await register(client, other, receiver.url)
        await make_item(client, owner, status="draft")
        await receiver.wait_for(1)
        log = await client.get(f"/api/v1/webhooks/{theirs['id']}/deliveries", headers=owner.headers)
        delivery_id = log.json()["items"][0]["id"]
        stolen = await client.post(
            f"/api/v1/webhooks/{mine['id']}/deliveries/{delivery_id}/redeliver",
            headers=other.headers,
        )
        assert stolen.status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
        ({"url": "http://user:pw@example.com/x", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "http://example.com/x", "events": []}, "events"),
        ({"url": "http://example.com/x", "events": ["user.created"]}, "events"),
        ({"url": "http://example.com/x"}, "events"),
    ],
)
async def test_bad_registrations_are_refused_with_the_field_named(services, client, body, loc):
    owner = await make_account(services, client)
    response = await client.post("/api/v1/webhooks", json=body, headers=owner.headers)
    assert response.status_code == 422, response.text
    assert loc in response.json()["errors"][0]["loc"]


async def test_webhooks_need_a_signed_in_caller(client):
    assert (await client.get("/api/v1/webhooks")).status_code == 401
    refused = await client.post("/api/v1/webhooks", json={"url": "http://x.test", "events": ["*"]})
    assert refused.status_code == 401


@pytest.fixture
async def production_client(settings, services):
    production = settings.model_copy(
        update={"tandem_env": "production", "webhook_allow_private_urls": None}
    )
    assert production.allow_private_webhook_urls is False
    app = create_app(production, services=services_for(production, services.database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hooks",  # not https
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://[::1]/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
    ],
)
async def test_a_private_url_is_refused_in_production(services, production_client, url):
    owner = await make_account(services, production_client)
    response = await production_client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=owner.headers
    )
    assert response.status_code == 422, response.text
    assert "url" in response.json()["errors"][0]["loc"]


async def test_production_checks_the_address_again_at_delivery(services, client, worker_settings):
    """Registered while allowed (say DNS then pointed elsewhere): the worker still refuses it."""
    async with running(Receiver()) as receiver:
        owner = await make_account(services, client)
        hook = await register(client, owner, receiver.url)
        production = worker_settings(
            tandem_env="production", webhook_allow_private_urls=False, webhook_retry_schedule="0.05"
        )
        async with worker_running(production):
            await make_item(client, owner)
            for _ in range(200):
                log = await client.get(
                    f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner.headers
                )
                (delivery,) = log.json()["items"]
                if delivery["status"] == "failed":
                    break
                import asyncio

                await asyncio.sleep(0.05)
        assert receiver.requests == []
    assert delivery["status"] == "failed"
    assert all("not a public address" in attempt["error"] for attempt in delivery["attempts"])


def test_public_addresses_are_told_from_the_rest():
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert is_public(ipaddress.ip_address(address)), address
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address under test, not a bind)
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
    ):
        assert not is_public(ipaddress.ip_address(address)), address


async def test_the_guard_allows_everything_when_told_to():
    assert await AddressGuard(allow_private=True).problem("http://127.0.0.1/") is None
    assert "not a public address" in (
        await AddressGuard(allow_private=False).problem("http://127.0.0.1/") or ""
    )
