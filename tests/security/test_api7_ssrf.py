"""API7 SSRF: a webhook URL never reaches an address inside, however its IPv4 is wrapped.

The assessment found IPv4-compatible IPv6 accepted (`https://[::127.0.0.1]/x` → 201)
while the mapped, NAT64 and 6to4 forms were refused. The guard now reads every form an
IPv6 address carries an IPv4 address in.
"""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from tandem.app import create_app, services_for
from tandem.outbound.addresses import is_public
from tests.factories import make_account

WRAPPED = [
    "::127.0.0.1",  # IPv4-compatible (the finding)
    "::169.254.169.254",  # IPv4-compatible cloud metadata
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT) 127.0.0.1
    "::ffff:127.0.0.1",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe",  # NAT64 169.254.169.254
    "2002:7f00:1::1",  # 6to4 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (obfuscated)
    "2606:4700::5efe:7f00:1",  # ISATAP 127.0.0.1 under a global prefix
    "2606:4700::200:5efe:a00:1",  # ISATAP (universal bit) 10.0.0.1
]


@pytest.fixture
async def production_client(settings, services):
    production = settings.model_copy(
        update={"tandem_env": "production", "webhook_allow_private_urls": None}
    )
    app = create_app(production, services=services_for(production, services.database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("address", WRAPPED)
async def test_a_webhook_to_a_wrapped_inside_address_is_refused(
    services, production_client, address
):
    owner = await make_account(services, production_client)
    response = await production_client.post(
        "/api/v1/webhooks",
        json={"url": f"https://[{address}]/x", "events": ["*"]},
        headers=owner.headers,
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"][-1] == "url"
    assert "not a public address" in error["msg"]


@pytest.mark.parametrize("address", WRAPPED)
def test_every_form_that_embeds_an_inside_ipv4_is_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:0:808:808",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "2606:2800:220:1:248:1893:25c8:1946",
    ],
)
def test_forms_that_embed_a_public_ipv4_stay_public(address):
    assert is_public(ipaddress.ip_address(address))
