"""API3 Broken object property level authorization: mass assignment and excessive exposure.

A client may set only the fields it owns (never a role, an owner, an id or a version), and
sees only the properties it may see: another user's email and role are hidden, and no
password or password hash ever leaves the server, on either face.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tandem.domain import global_ids
from tests.factories import PASSWORD, make_account, make_item
from tests.security.helpers import ME, codes, forge, graphql

SECRET_MARKERS = ("$argon2", "password_hash", "passwordHash")


def keys_of(value: Any) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {key for inner in value.values() for key in keys_of(inner)}
    if isinstance(value, list):
        return {key for inner in value for key in keys_of(inner)}
    return set()


def assert_no_secrets(response: httpx.Response) -> None:
    for marker in SECRET_MARKERS:
        assert marker not in response.text, (marker, response.text)
    assert not {key for key in keys_of(response.json()) if "password" in key.lower()}


async def me(client: httpx.AsyncClient, account) -> dict[str, Any]:
    response = await client.get(ME, headers=account.headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# --- Mass assignment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [{"role": "admin"}, {"is_active": False}, {"id": 4242}, {"password_hash": "$argon2id$x"}],
    ids=["role", "is_active", "id", "password_hash"],
)
async def test_registration_refuses_server_owned_fields(client, extra):
    body = {"email": "mallory@example.com", "name": "Mallory", "password": PASSWORD, **extra}
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert list(extra) == [error["loc"][-1] for error in response.json()["errors"]]
    # Nothing was created: the email is still free, and a plain registration is a member.
    plain = {key: body[key] for key in ("email", "name", "password")}
    created = await client.post("/api/v1/auth/register", json=plain)
    assert created.status_code == 201 and created.json()["role"] == "member"


@pytest.mark.parametrize(
    "extra",
    [{"role": "admin"}, {"is_active": True}, {"email": "other@example.com"}, {"id": 1}],
    ids=["role", "is_active", "email", "id"],
)
async def test_a_member_cannot_set_their_own_protected_fields_on_rest(client, services, extra):
    mallory = await make_account(services, client)
    before = await me(client, mallory)
    response = await client.patch(ME, json={"name": "Mallory", **extra}, headers=mallory.headers)
    assert response.status_code == 422, response.text
    assert await me(client, mallory) == before


@pytest.mark.parametrize(
    ("field", "literal", "value"),
    [
        ("role", "ADMIN", "ADMIN"),
        ("isActive", "true", True),
        ("email", '"other@example.com"', "other@example.com"),
        ("id", "1", 1),
    ],
)
async def test_a_member_cannot_set_their_own_protected_fields_on_graphql(
    client, services, field, literal, value
):
    mallory = await make_account(services, client)
    before = await me(client, mallory)
    inline = f'mutation {{ updateMe(input: {{name: "M", {field}: {literal}}}) {{ name }} }}'
    body = (await graphql(client, inline, headers=mallory.headers)).json()
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
    through_variables = (
        await graphql(
            client,
            "mutation($input: UpdateMeInput!) { updateMe(input: $input) { name } }",
            {"input": {"name": "M", field: value}},
            headers=mallory.headers,
        )
    ).json()
    assert codes(through_variables) == ["BAD_USER_INPUT"], through_variables
    assert await me(client, mallory) == before


async def test_an_item_is_created_for_the_caller_whatever_the_body_claims(client, services):
    victim = await make_account(services, client)
    mallory = await make_account(services, client)
    forged = {
        "title": "planted",
        "owner_id": victim.id,
        "owner": {"id": victim.id},
        "id": 4242,
        "version": 99,
        "created_at": "2000-01-01T00:00:00Z",
    }
    response = await client.post("/api/v1/items", json=forged, headers=mallory.headers)
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["owner_id"] == mallory.id
    assert item["id"] != 4242 and item["revision"] == 1
    assert not item["created_at"].startswith("2000")

    body = (
        await graphql(
            client,
            'mutation($o: ID!) { createItem(input: {title: "planted", ownerId: $o}) { id } }',
            {"o": global_ids.encode("User", victim.id)},
            headers=mallory.headers,
        )
    ).json()
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    listed = await client.get(
        "/api/v1/items", params={"owner_id": victim.id}, headers=victim.headers
    )
    assert listed.json()["total"] == 0


async def test_an_item_cannot_be_handed_to_another_owner_or_version(client, services):
    victim = await make_account(services, client)
    mallory = await make_account(services, client)
    item = await make_item(client, mallory)
    url = f"/api/v1/items/{item['id']}"
    response = await client.patch(
        url, json={"owner_id": victim.id, "version": 99, "id": 7}, headers=mallory.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["owner_id"] == mallory.id
    assert response.json()["revision"] == 1  # nothing the caller owns changed

    body = (
        await graphql(
            client,
            "mutation($id: ID!, $o: ID!) { updateItem(id: $id, input: {ownerId: $o}) { id } }",
            {"id": item["node_id"], "o": global_ids.encode("User", victim.id)},
            headers=mallory.headers,
        )
    ).json()
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    after = (await client.get(url, headers=mallory.headers)).json()
    assert after["owner_id"] == mallory.id and after["revision"] == 1


@pytest.mark.parametrize(
    "extra",
    [{"email": "new@example.com"}, {"password": "a new password"}, {"password_hash": "x"}],
    ids=["email", "password", "password_hash"],
)
async def test_even_an_admin_cannot_set_a_users_credentials(client, services, extra):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    response = await client.patch(f"/api/v1/users/{ada.id}", json=extra, headers=admin.headers)
    assert response.status_code == 422, response.text
    signed_in = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": ada.user.email, "password": PASSWORD},
    )
    assert signed_in.status_code == 200


# --- Excessive data exposure --------------------------------------------------------------------

PUBLIC_VIEW = {"id", "node_id", "name", "created_at"}


async def test_another_users_email_and_role_are_hidden_on_rest(client, services):
    ada = await make_account(services, client, role="admin")
    bob = await make_account(services, client)
    response = await client.get(f"/api/v1/users/{ada.id}", headers=bob.headers)
    assert response.status_code == 200
    assert set(response.json()) == PUBLIC_VIEW


async def test_another_users_email_and_role_are_null_wherever_graphql_reaches_them(
    client, services
):
    ada = await make_account(services, client, role="admin")
    bob = await make_account(services, client)
    item = await make_item(client, ada)
    user_id = global_ids.encode("User", ada.id)
    query = """
    query($user: ID!, $item: ID!) {
      user(id: $user) { email role }
      node(id: $user) { ... on User { email role } }
      nodes(ids: [$user]) { ... on User { email role } }
      item(id: $item) { owner { email role } }
      items { nodes { owner { email role } } }
    }
    """
    variables = {"user": user_id, "item": item["node_id"]}
    body = (await graphql(client, query, variables, headers=bob.headers)).json()
    hidden = {"email": None, "role": None}
    assert body["data"] == {
        "user": hidden,
        "node": hidden,
        "nodes": [hidden],
        "item": {"owner": hidden},
        "items": {"nodes": [{"owner": hidden}]},
    }
    # The control: Ada sees her own.
    mine = (await graphql(client, query, variables, headers=ada.headers)).json()
    assert mine["data"]["user"] == {"email": ada.user.email, "role": "ADMIN"}


async def test_an_admin_token_without_users_read_sees_no_private_fields(client, services, settings):
    # A partner client acting for an admin with items:read only must not read every
    # owner's email through the items it lists.
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    await make_item(client, ada)
    items_only = forge(settings, admin, scope="items:read")
    headers = {"Authorization": f"Bearer {items_only}"}

    rest = await client.get(f"/api/v1/users/{ada.id}", headers=headers)
    assert rest.status_code == 403

    body = (
        await graphql(client, "{ items { nodes { owner { email role } } } }", headers=headers)
    ).json()
    assert body["data"]["items"]["nodes"] == [{"owner": {"email": None, "role": None}}]
    # The control: the same admin with a full token sees them.
    full = (
        await graphql(client, "{ items { nodes { owner { email } } } }", headers=admin.headers)
    ).json()
    assert full["data"]["items"]["nodes"] == [{"owner": {"email": ada.user.email}}]


async def test_no_password_or_hash_leaves_the_server_on_any_user_answer(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "new@example.com", "name": "New", "password": PASSWORD},
    )
    answers = [
        registered,
        await client.get(ME, headers=ada.headers),
        await client.patch(
            ME,
            json={"password": "another password", "current_password": PASSWORD},
            headers=ada.headers,
        ),
        await client.get("/api/v1/users", headers=admin.headers),
        await client.get(f"/api/v1/users/{ada.id}", headers=admin.headers),
        await client.patch(f"/api/v1/users/{ada.id}", json={"name": "A"}, headers=admin.headers),
        await graphql(
            client,
            "{ me { id name email role } users { nodes { id name email role } } }",
            headers=admin.headers,
        ),
        await graphql(
            client,
            'mutation { updateMe(input: {name: "Admin"}) { id name email role } }',
            headers=admin.headers,
        ),
    ]
    for response in answers:
        assert response.status_code in (200, 201), response.text
        assert_no_secrets(response)


async def test_the_graphql_schema_has_no_password_or_hash_field_to_ask_for(client, services):
    ada = await make_account(services, client)
    query = "{ __schema { types { name kind fields { name } } } }"
    body = (await graphql(client, query, headers=ada.headers)).json()
    output_fields = [
        f"{kind['name']}.{field['name']}"
        for kind in body["data"]["__schema"]["types"]
        # Mutations take a password (resetPassword, updateMe); none answers one.
        if kind["kind"] == "OBJECT"
        and not kind["name"].startswith("__")
        and kind["name"] != "Mutation"
        for field in kind["fields"] or []
    ]
    assert "User.email" in output_fields  # the control: the walk sees User's fields
    assert not [f for f in output_fields if "password" in f.lower() or "hash" in f.lower()]
