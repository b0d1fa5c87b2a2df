"""The client_credentials grant, as authlib's OAuth2Client drives it (Basic and form auth)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from authlib.integrations.base_client.errors import OAuthError

from tests.api.test_auth import assert_oauth_error
from tests.factories import make_account, make_user
from tests.graphql.helpers import codes, gql
from tests.partners.helpers import TOKEN, bearer, make_client, oauth_session

CREATE_ITEM = 'mutation { createItem(input: {title: "From GraphQL"}) { id owner { databaseId } } }'


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_gets_a_token_that_acts_for_the_clients_user(app, services, method):
    owner = await make_user(services)
    client_id, secret = await make_client(services, user_id=owner.id)
    async with oauth_session(
        app, client_id=client_id, client_secret=secret, token_endpoint_auth_method=method
    ) as session:
        token = await session.fetch_token(TOKEN, grant_type="client_credentials")
        assert token["token_type"] == "bearer"
        assert "refresh_token" not in token or token["refresh_token"] is None
        assert token["scope"] == "items:read items:write users:read"
        assert 0 < token["expires_in"] <= 900
        # authlib sends the token itself from here on.
        me = await session.get("/api/v1/users/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == owner.id
        created = await session.post("/api/v1/items", json={"title": "From a partner"})
        assert created.status_code == 201, created.text
        assert created.json()["owner_id"] == owner.id


async def test_basic_credentials_are_form_urlencoded_first(client, services):
    """RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined and base64-encoded."""
    owner = await make_user(services)
    client_id, secret = await make_client(services, user_id=owner.id)
    # Encode every character, so a server that skips the decoding step is caught out.
    encoded = "".join(f"%{byte:02X}" for byte in client_id.encode())
    pair = f"{encoded}:{quote(secret, safe='')}".encode()
    response = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
    )
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] is None


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_a_wrong_secret_is_invalid_client_for_authlib(app, services, method):
    owner = await make_user(services)
    client_id, _secret = await make_client(services, user_id=owner.id)
    async with oauth_session(
        app, client_id=client_id, client_secret="tcs_wrong", token_endpoint_auth_method=method
    ) as session:
        with pytest.raises(OAuthError) as raised:
            await session.fetch_token(TOKEN, grant_type="client_credentials")
    assert raised.value.error == "invalid_client"


@pytest.mark.parametrize(
    "auth",
    [
        {"data": {"client_id": "tc_nobody", "client_secret": "x"}},
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"tc_nobody:x").decode()}},
        {"headers": {"Authorization": "Basic !!not-base64!!"}},
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}},
        {"data": {}},
    ],
    ids=["form-unknown", "basic-unknown", "basic-garbage", "basic-no-colon", "none"],
)
async def test_failed_client_authentication_is_a_401_with_a_basic_challenge(client, auth):
    data = {"grant_type": "client_credentials", **auth.get("data", {})}
    response = await client.post(TOKEN, data=data, headers=auth.get("headers", {}))
    assert_oauth_error(response, "invalid_client", status=401)
    assert response.headers["www-authenticate"] == 'Basic realm="tandem"'


async def test_the_right_id_with_a_wrong_secret_is_refused_both_ways(client, services):
    owner = await make_user(services)
    client_id, secret = await make_client(services, user_id=owner.id)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    form = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": wrong},
    )
    assert_oauth_error(form, "invalid_client", status=401)
    basic = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(client_id, wrong)
    )
    assert_oauth_error(basic, "invalid_client", status=401)
    assert basic.headers["www-authenticate"] == 'Basic realm="tandem"'


async def test_two_ways_at_once_is_invalid_request(client, services):
    owner = await make_user(services)
    client_id, secret = await make_client(services, user_id=owner.id)
    response = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        auth=(client_id, secret),
    )
    assert_oauth_error(response, "invalid_request")


async def test_a_password_grant_with_a_basic_header_is_not_taken_for_a_bad_token(client, services):
    ada = await make_account(services, client)
    response = await client.post(
        TOKEN,
        data={"grant_type": "password", "username": ada.user.email, "password": ada.password},
        auth=("some-public-client", ""),
    )
    assert response.status_code == 200, response.text


async def test_a_client_of_a_deactivated_user_gets_no_token(client, services):
    admin = await make_account(services, client, role="admin")
    owner = await make_user(services)
    client_id, secret = await make_client(services, user_id=owner.id)
    await client.patch(
        f"/api/v1/users/{owner.id}", json={"is_active": False}, headers=admin.headers
    )
    response = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert_oauth_error(response, "invalid_grant")


# --- Scopes: narrowing, on both faces --------------------------------------------------------


async def client_token(client, client_id: str, secret: str, scope: str | None = None):
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return await client.post(TOKEN, data=data, auth=(client_id, secret))


async def test_a_client_token_holds_only_the_clients_scopes_on_both_faces(client, services):
    owner = await make_user(services)
    client_id, secret = await make_client(services, user_id=owner.id, scopes="items:read")
    response = await client_token(client, client_id, secret)
    assert response.json()["scope"] == "items:read"
    headers = bearer(response.json()["access_token"])
    assert (await client.get("/api/v1/items", headers=headers)).status_code == 200
    refused = await client.post("/api/v1/items", json={"title": "x"}, headers=headers)
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    assert codes(await gql(client, CREATE_ITEM, headers=headers)) == ["FORBIDDEN"]
    assert codes(await gql(client, "{ items(first: 1) { totalCount } }", headers=headers)) == []


@pytest.mark.parametrize(
    ("asked", "granted"),
    [
        ("items:read", "items:read"),
        ("items:write items:read", "items:read items:write"),
        ("items:read users:write", "items:read"),  # never more than the client holds
    ],
)
async def test_scope_narrows_a_client_token(client, services, asked, granted):
    owner = await make_user(services)
    client_id, secret = await make_client(
        services, user_id=owner.id, scopes="items:read items:write"
    )
    response = await client_token(client, client_id, secret, scope=asked)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == granted


@pytest.mark.parametrize("asked", ["bogus:scope", "items:read bogus:scope", "users:write"])
async def test_an_unknown_or_ungrantable_scope_is_invalid_scope(client, services, asked):
    owner = await make_user(services)
    client_id, secret = await make_client(services, user_id=owner.id, scopes="items:read")
    assert_oauth_error(await client_token(client, client_id, secret, scope=asked), "invalid_scope")


async def test_authlib_narrows_a_password_login_and_the_token_is_read_only_on_both_faces(
    app, client, services
):
    ada = await make_account(services, client)
    async with oauth_session(app, scope="items:read") as session:  # a public client
        token = await session.fetch_token(TOKEN, username=ada.user.email, password=ada.password)
        assert token["scope"] == "items:read"
        assert (await session.get("/api/v1/items")).status_code == 200
        assert (await session.post("/api/v1/items", json={"title": "x"})).status_code == 403
        assert (await session.get("/api/v1/users/me")).status_code == 403
        graphql = await session.post("/graphql", json={"query": CREATE_ITEM})
        assert codes(graphql.json()) == ["FORBIDDEN"]
        # A refresh keeps the narrow scope, and may not widen it.
        refreshed = await session.refresh_token(TOKEN, refresh_token=token["refresh_token"])
        assert refreshed["scope"] == "items:read"
        with pytest.raises(OAuthError) as raised:
            await session.refresh_token(
                TOKEN, refresh_token=refreshed["refresh_token"], scope="items:read items:write"
            )
        assert raised.value.error == "invalid_scope"


async def test_authlib_refresh_may_narrow_further(app, client, services):
    ada = await make_account(services, client)
    async with oauth_session(app) as session:
        token = await session.fetch_token(TOKEN, username=ada.user.email, password=ada.password)
        assert (
            token["scope"]
            == "items:read items:write users:read users:write webhooks:read webhooks:write"
        )
        narrowed = await session.refresh_token(
            TOKEN, refresh_token=token["refresh_token"], scope="users:read"
        )
        assert narrowed["scope"] == "users:read"
        assert (await session.get("/api/v1/users/me")).status_code == 200
        assert (await session.get("/api/v1/items")).status_code == 403
        # The login still holds everything: the next refresh may ask for all of it again.
        again = await session.refresh_token(TOKEN, refresh_token=narrowed["refresh_token"])
        assert (
            again["scope"]
            == "items:read items:write users:read users:write webhooks:read webhooks:write"
        )


async def test_an_unknown_scope_on_a_password_login_is_invalid_scope(client, services):
    ada = await make_account(services, client)
    response = await client.post(
        TOKEN,
        data={
            "grant_type": "password",
            "username": ada.user.email,
            "password": ada.password,
            "scope": "bogus:scope",
        },
    )
    assert_oauth_error(response, "invalid_scope")
