"""Names are text, not layout; and registration cannot make Tandem mail without bound.

The assessment (issue 20, finding 9): registration mails any address, unverified, with
the registrant's name in the body, and a name could hold CR/LF and a forged line such as
"URGENT: … http://evil.example/login". A name with a control character (Cc), a line or
paragraph separator or a bidirectional control is refused with 422 on both faces, and
welcome mails are bounded per client address.
"""

from __future__ import annotations

import pytest

from tandem.persistence.counters import MemoryCounters
from tests.api.assertions import assert_problem
from tests.factories import PASSWORD, make_account
from tests.graphql.helpers import gql
from tests.mail.helpers import outbox
from tests.security.helpers import fresh_window, serving

FORGED = "Ada\r\nURGENT: your account is locked, sign in at http://evil.example/login"
LAYOUT = [
    FORGED,
    "Ada\nLovelace",
    "Ada\tLovelace",
    "Ada\x1b[31m",
    "Ada\x7f",
    "Ada\x85",
    "A\u2028B",
    "\u202eecalevoL",
]


@pytest.mark.parametrize("name", LAYOUT)
async def test_registration_refuses_a_name_that_is_layout(client, services, name):
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "layout@example.com", "name": name, "password": PASSWORD},
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "name"]
    assert "control characters" in error["msg"]
    assert await outbox(services) == []  # nothing made, nothing mailed


@pytest.mark.parametrize("name", [FORGED, "Ada\tL."])
async def test_renaming_to_layout_is_refused_on_both_faces(client, services, name):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client, name="Ada")
    own = await client.patch("/api/v1/users/me", json={"name": name}, headers=ada.headers)
    assert_problem(own, 422, "VALIDATION_FAILED")
    by_admin = await client.patch(
        f"/api/v1/users/{ada.id}", json={"name": name}, headers=admin.headers
    )
    assert_problem(by_admin, 422, "VALIDATION_FAILED")
    body = await gql(
        client,
        "mutation($name: String!) { updateMe(input: {name: $name}) { name } }",
        {"name": name},
        headers=ada.headers,
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "control characters" in error["message"]
    me = await client.get("/api/v1/users/me", headers=ada.headers)
    assert me.json()["name"] == "Ada"


async def test_names_in_any_script_and_with_emoji_are_still_text(client):
    for number, name in enumerate(["Zoë Ångström", "李小龙", "Ada 🚀", "O'Brien-Smith"]):
        response = await client.post(
            "/api/v1/auth/register",
            json={"email": f"text{number}@example.com", "name": name, "password": PASSWORD},
        )
        assert response.status_code == 201, response.text
        assert response.json()["name"] == name


async def test_welcome_mail_is_bounded_per_address(settings, services):
    await fresh_window(3600)
    shared = MemoryCounters()
    async with serving(
        settings,
        services.database,
        counters=shared,
        address="10.9.0.1",
        welcome_mail_max_per_address=2,
    ) as busy:
        for number in range(4):
            made = await busy.client.post(
                "/api/v1/auth/register",
                json={"email": f"victim{number}@example.com", "name": "V", "password": PASSWORD},
            )
            assert made.status_code == 201, made.text  # the account is made all the same
    async with serving(
        settings,
        services.database,
        counters=shared,
        address="10.9.0.2",
        welcome_mail_max_per_address=2,
    ) as other:
        made = await other.client.post(
            "/api/v1/auth/register",
            json={"email": "elsewhere@example.com", "name": "E", "password": PASSWORD},
        )
        assert made.status_code == 201
    welcomed = [row["recipient"] for row in await outbox(services) if row["kind"] == "welcome"]
    assert welcomed == ["victim0@example.com", "victim1@example.com", "elsewhere@example.com"]
