"""Registration, the OAuth 2 token and revocation endpoints, and the one guard (REST face)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from tandem.config import Settings
from tandem.domain.auth.tokens import ALGORITHM, REQUIRED_CLAIMS
from tests.api.assertions import assert_problem, assert_unauthenticated, error_locs
from tests.factories import PASSWORD, Account, login, make_account

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REVOKE = "/api/v1/auth/revoke"
ME = "/api/v1/users/me"
PRIVATE_KEYS = {"id", "node_id", "name", "created_at", "email", "role", "is_active", "updated_at"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"email": "ada@example.com", "name": "Ada", "password": PASSWORD, **fields}
    return await client.post(REGISTER, json=body)


async def token_request(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await client.post(TOKEN, data=form)


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await token_request(client, grant_type="refresh_token", refresh_token=refresh_token)


def assert_oauth_error(response: httpx.Response, error: str, *, status: int = 400) -> None:
    """RFC 6749 §5.2: `{error, error_description}` as plain JSON, never problem+json."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def works(client: httpx.AsyncClient, access_token: str) -> bool:
    """Whether the access token still opens a protected route (401 otherwise)."""
    response = await client.get(ME, headers=bearer(access_token))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


# --- Registration ---------------------------------------------------------------------------


async def test_register_answers_201_with_the_private_view(client):
    response = await register(client, email="ada@example.com", name="Ada Lovelace")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == PRIVATE_KEYS
    assert body["email"] == "ada@example.com"
    assert body["name"] == "Ada Lovelace"
    assert body["role"] == "member"
    assert body["is_active"] is True
    assert PASSWORD not in response.text
    assert "password" not in response.text
    assert "argon2" not in response.text


async def test_registration_signs_in_with_the_chosen_password(client):
    await register(client, email="ada@example.com")
    tokens = await login(client, "ada@example.com")
    assert await works(client, tokens["access_token"])


async def test_register_trims_the_email(client):
    response = await register(client, email="  ada@example.com \t")
    assert response.status_code == 201
    assert response.json()["email"] == "ada@example.com"
    assert await login(client, "ada@example.com")


async def test_a_taken_email_is_a_409_conflict(client):
    assert (await register(client, email="ada@example.com")).status_code == 201
    response = await register(client, email="ada@example.com", name="Someone else")
    assert_problem(response, 409, "CONFLICT")


async def test_emails_are_unique_whatever_their_case(client):
    assert (await register(client, email="Ada@Example.com")).status_code == 201
    response = await register(client, email=" ADA@example.COM ")
    assert_problem(response, 409, "CONFLICT")


async def test_two_registrations_of_one_email_at_once_create_one_account(client):
    responses = await asyncio.gather(
        register(client, email="ada@example.com"), register(client, email="ADA@example.com")
    )
    assert sorted(r.status_code for r in responses) == [201, 409]


async def test_sign_in_ignores_the_email_case(client):
    await register(client, email="Ada@Example.com")
    assert await login(client, "ada@EXAMPLE.com")


@pytest.mark.parametrize("length", [8, 128])
async def test_a_password_of_8_to_128_characters_is_accepted(client, length):
    password = "p" * length
    response = await register(client, password=password)
    assert response.status_code == 201, response.text
    assert await login(client, "ada@example.com", password)


@pytest.mark.parametrize("length", [0, 7, 129])
async def test_a_password_shorter_than_8_or_longer_than_128_is_refused(client, length):
    password = "q" * length
    response = await register(client, password=password)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("body", "password")]
    if password:
        assert password not in response.text


@pytest.mark.parametrize(
    "fields",
    [{"email": "not-an-email"}, {"name": ""}, {"name": "   "}, {"email": None}],
    ids=["bad-email", "empty-name", "blank-name", "null-email"],
)
async def test_an_invalid_registration_is_a_422(client, fields):
    response = await register(client, **fields)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    "fields",
    [{"name": "A\u0000da"}, {"email": "a\u0000da@example.com"}],
    ids=["name", "email"],
)
async def test_a_nul_character_in_a_registration_is_a_422_not_a_crash(client, fields):
    response = await register(client, **fields)
    assert_problem(response, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize(
    "extra",
    [{"role": "admin"}, {"id": 999}, {"is_active": False}],
    ids=["role", "id", "is_active"],
)
async def test_server_owned_fields_are_refused_and_never_applied(client, extra):
    response = await register(client, **extra)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("body", next(iter(extra)))]
    # Nothing was created: the same email registers afterwards, as a plain active member.
    created = await register(client)
    assert created.status_code == 201
    assert created.json()["role"] == "member"
    assert created.json()["is_active"] is True
    assert created.json()["id"] != 999


# --- The password grant ---------------------------------------------------------------------


async def test_the_password_grant_issues_a_bearer_token_pair(client, services, settings):
    ada = await make_account(services, client)
    response = await token_request(
        client, grant_type="password", username=ada.user.email, password=PASSWORD
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]
    assert isinstance(body["scope"], str)
    assert response.headers["cache-control"] == "no-store"
    assert await works(client, body["access_token"])


async def test_the_access_token_carries_the_contract_claims(client, services, settings):
    ada = await make_account(services, client)
    header = jwt.get_unverified_header(ada.access_token)
    claims = jwt.decode(
        ada.access_token,
        settings.secret_key,
        algorithms=[ALGORITHM],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert header["alg"] == "HS256"
    assert set(REQUIRED_CLAIMS) <= set(claims)
    assert claims["sub"] == str(ada.id)
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds


async def test_a_wrong_password_and_an_unknown_email_look_the_same(client, services):
    ada = await make_account(services, client)
    wrong_password = await token_request(
        client, grant_type="password", username=ada.user.email, password="not the password"
    )
    unknown_email = await token_request(
        client, grant_type="password", username="nobody@example.com", password=PASSWORD
    )
    assert_oauth_error(wrong_password, "invalid_grant")
    assert wrong_password.status_code == unknown_email.status_code
    assert wrong_password.json() == unknown_email.json()


async def test_a_nul_character_in_a_username_is_just_an_unknown_email(client, services):
    await make_account(services, client)
    response = await token_request(
        client, grant_type="password", username="a\u0000@example.com", password=PASSWORD
    )
    assert_oauth_error(response, "invalid_grant")


async def test_a_too_long_password_is_just_a_wrong_password(client, services):
    ada = await make_account(services, client)
    response = await token_request(
        client, grant_type="password", username=ada.user.email, password="x" * 10_000
    )
    assert_oauth_error(response, "invalid_grant")


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"username": "ada@example.com", "password": PASSWORD},
        {"grant_type": "password"},
        {"grant_type": "password", "username": "ada@example.com"},
        {"grant_type": "password", "password": PASSWORD},
        {"grant_type": "refresh_token"},
    ],
    ids=[
        "empty",
        "no-grant-type",
        "no-credentials",
        "no-password",
        "no-username",
        "no-refresh-token",
    ],
)
async def test_a_token_request_missing_a_parameter_is_invalid_request(client, form):
    response = await token_request(client, **form)
    assert_oauth_error(response, "invalid_request")


@pytest.mark.parametrize("grant_type", ["authorization_code", "implicit", "PASSWORD", "magic"])
async def test_an_unknown_grant_is_unsupported_grant_type(client, grant_type):
    response = await token_request(
        client, grant_type=grant_type, username="ada@example.com", password=PASSWORD
    )
    assert_oauth_error(response, "unsupported_grant_type")


async def test_a_deactivated_user_cannot_sign_in(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    deactivate = await client.patch(
        f"/api/v1/users/{ada.id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivate.status_code == 200
    response = await token_request(
        client, grant_type="password", username=ada.user.email, password=PASSWORD
    )
    unknown = await token_request(
        client, grant_type="password", username="nobody@example.com", password=PASSWORD
    )
    assert_oauth_error(response, "invalid_grant")
    assert response.json() == unknown.json()


# --- Refresh: rotation and reuse detection --------------------------------------------------


async def test_a_refresh_rotates_the_pair(client, services):
    ada = await make_account(services, client)
    response = await refresh(client, ada.refresh_token)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] != ada.refresh_token
    assert body["access_token"] != ada.access_token
    assert response.headers["cache-control"] == "no-store"
    assert await works(client, body["access_token"])
    # The new refresh token works in its turn.
    assert (await refresh(client, body["refresh_token"])).status_code == 200


async def test_a_refresh_token_is_spent_once_used(client, services):
    ada = await make_account(services, client)
    assert (await refresh(client, ada.refresh_token)).status_code == 200
    assert_oauth_error(await refresh(client, ada.refresh_token), "invalid_grant")


async def test_reusing_a_spent_refresh_token_revokes_its_whole_family(client, services):
    ada = await make_account(services, client)
    first = (await refresh(client, ada.refresh_token)).json()
    second = (await refresh(client, first["refresh_token"])).json()
    assert await works(client, second["access_token"])

    # The thief (or the victim) presents a spent token: everything from that login dies.
    assert_oauth_error(await refresh(client, ada.refresh_token), "invalid_grant")

    assert_oauth_error(await refresh(client, second["refresh_token"]), "invalid_grant")
    for access_token in (ada.access_token, first["access_token"], second["access_token"]):
        assert not await works(client, access_token)


async def test_one_refresh_token_presented_twice_at_once_wins_only_once(client, services):
    ada = await make_account(services, client)
    responses = await asyncio.gather(
        refresh(client, ada.refresh_token), refresh(client, ada.refresh_token)
    )
    assert sorted(r.status_code for r in responses) == [200, 400]
    # The second presentation was a reuse, so the winner's new pair is revoked with the family.
    winner = next(r for r in responses if r.status_code == 200).json()
    assert not await works(client, winner["access_token"])
    assert_oauth_error(await refresh(client, winner["refresh_token"]), "invalid_grant")


async def test_reuse_revokes_only_the_login_it_came_from(client, services):
    ada = await make_account(services, client)
    other_login = await login(client, ada.user.email)
    await refresh(client, ada.refresh_token)
    await refresh(client, ada.refresh_token)  # reuse
    assert not await works(client, ada.access_token)
    assert await works(client, other_login["access_token"])
    assert (await refresh(client, other_login["refresh_token"])).status_code == 200


@pytest.mark.parametrize("token", ["", "unknown-refresh-token", "a.b.c"])
async def test_an_unknown_refresh_token_is_invalid_grant(client, token):
    response = await refresh(client, token)
    assert_oauth_error(response, "invalid_request" if token == "" else "invalid_grant")


async def test_a_deactivated_users_refresh_token_is_refused(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    await client.patch(f"/api/v1/users/{ada.id}", json={"is_active": False}, headers=admin.headers)
    assert_oauth_error(await refresh(client, ada.refresh_token), "invalid_grant")


async def test_an_access_token_is_not_a_refresh_token(client, services):
    ada = await make_account(services, client)
    assert_oauth_error(await refresh(client, ada.access_token), "invalid_grant")


# --- Revocation (RFC 7009) ------------------------------------------------------------------


async def revoke(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REVOKE, data={"token": token})


async def test_revoking_a_refresh_token_ends_it_and_its_family(client, services):
    ada = await make_account(services, client)
    rotated = (await refresh(client, ada.refresh_token)).json()
    response = await revoke(client, rotated["refresh_token"])
    assert response.status_code == 200
    assert_oauth_error(await refresh(client, rotated["refresh_token"]), "invalid_grant")
    assert not await works(client, rotated["access_token"])
    assert not await works(client, ada.access_token)


async def test_revoking_a_refresh_token_leaves_other_logins_alone(client, services):
    ada = await make_account(services, client)
    other_login = await login(client, ada.user.email)
    await revoke(client, ada.refresh_token)
    assert await works(client, other_login["access_token"])


async def test_revoking_an_access_token_ends_it(client, services):
    ada = await make_account(services, client)
    assert await works(client, ada.access_token)
    response = await revoke(client, ada.access_token)
    assert response.status_code == 200
    after = await client.get(ME, headers=ada.headers)
    assert_unauthenticated(after, bad_token=True)


async def test_revoking_is_idempotent(client, services):
    ada = await make_account(services, client)
    assert (await revoke(client, ada.access_token)).status_code == 200
    assert (await revoke(client, ada.access_token)).status_code == 200


@pytest.mark.parametrize("token", ["never-issued", "x.y.z", "eyJhbGciOiJIUzI1NiJ9.e30.sig"])
async def test_revoking_an_unknown_token_answers_200(client, token):
    response = await revoke(client, token)
    assert response.status_code == 200


async def test_revoke_without_a_token_is_invalid_request(client):
    response = await client.post(REVOKE, data={})
    assert_oauth_error(response, "invalid_request")


# --- The guard: forged, broken and stale tokens ---------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(
    settings: Settings,
    account: Account,
    *,
    key: str | None = None,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    drop: str | None = None,
    **overrides: Any,
) -> str:
    """An access token built by hand: valid as issued, unless an argument spoils it."""
    now = datetime.now(UTC)
    real = jwt.decode(account.access_token, options={"verify_signature": False})
    claims: dict[str, Any] = {
        "sub": str(account.id),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": str(uuid.uuid4()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "scope": real["scope"],
        "sid": real["sid"],
        **overrides,
    }
    if drop is not None:
        del claims[drop]
    # The real header's other fields (a key id, say) are kept; `alg` is PyJWT's to write.
    real_header = {
        name: value
        for name, value in jwt.get_unverified_header(account.access_token).items()
        if name != "alg"
    }
    return jwt.encode(
        claims,
        key if key is not None else settings.secret_key,
        algorithm=algorithm,
        headers={**real_header, "typ": "at+jwt", **(headers or {})},
    )


async def test_a_hand_built_token_is_accepted_when_everything_is_right(client, services, settings):
    # The control for the attacks below: each spoils exactly one thing of this token.
    ada = await make_account(services, client)
    assert await works(client, forge(settings, ada))


async def assert_refused(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers=bearer(token))
    assert_unauthenticated(response, bad_token=True)


async def test_alg_none_is_refused(client, services, settings):
    ada = await make_account(services, client)
    claims = jwt.decode(ada.access_token, options={"verify_signature": False})
    real_header = jwt.get_unverified_header(ada.access_token)
    header = b64url(json.dumps({**real_header, "alg": "none"}).encode())
    payload = b64url(json.dumps(claims).encode())
    await assert_refused(client, f"{header}.{payload}.")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_another_algorithm_with_the_right_key_is_refused(client, services, settings):
    ada = await make_account(services, client)
    await assert_refused(client, forge(settings, ada, algorithm="HS512"))


async def test_a_token_signed_with_another_key_is_refused(client, services, settings):
    ada = await make_account(services, client)
    await assert_refused(
        client, forge(settings, ada, key="another-key-of-a-decent-length-0123456789")
    )


async def test_a_tampered_payload_is_refused(client, services, settings):
    ada = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    header, payload, signature = ada.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(admin.id)
    tampered = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    await assert_refused(client, tampered)


async def test_an_expired_token_is_refused(client, services, settings):
    ada = await make_account(services, client)
    past = datetime.now(UTC) - timedelta(hours=1)
    await assert_refused(client, forge(settings, ada, iat=past, exp=past + timedelta(minutes=15)))


async def test_a_token_for_another_audience_is_refused(client, services, settings):
    ada = await make_account(services, client)
    await assert_refused(client, forge(settings, ada, aud="someone-else"))


async def test_a_token_from_another_issuer_is_refused(client, services, settings):
    ada = await make_account(services, client)
    await assert_refused(client, forge(settings, ada, iss="https://evil.example"))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
async def test_a_token_missing_a_required_claim_is_refused(client, services, settings, claim):
    ada = await make_account(services, client)
    await assert_refused(client, forge(settings, ada, drop=claim))


@pytest.mark.parametrize("typ", ["JWT", "refresh+jwt", None])
async def test_a_token_that_is_not_typed_as_an_access_token_is_refused(
    client, services, settings, typ
):
    ada = await make_account(services, client)
    await assert_refused(client, forge(settings, ada, headers={"typ": typ}))


async def test_a_token_for_a_user_that_does_not_exist_is_refused(client, services, settings):
    ada = await make_account(services, client)
    await assert_refused(client, forge(settings, ada, sub="987654"))


async def test_a_refresh_token_is_not_a_bearer_token(client, services):
    ada = await make_account(services, client)
    await assert_refused(client, ada.refresh_token)


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "....", "Bearer"])
async def test_garbage_is_refused(client, garbage):
    await assert_refused(client, garbage)


@pytest.mark.parametrize(
    "header", ["Basic YWRhQGV4YW1wbGUuY29tOnBhc3N3b3Jk", "Token {token}", "Bearer", "{token}"]
)
async def test_a_header_that_is_not_bearer_token_is_refused(client, services, header):
    ada = await make_account(services, client)
    response = await client.get(
        ME, headers={"Authorization": header.format(token=ada.access_token)}
    )
    assert_unauthenticated(response, bad_token=True)


async def test_the_bearer_scheme_is_case_insensitive(client, services):
    # RFC 9110 §11.1: auth schemes are case-insensitive.
    ada = await make_account(services, client)
    for scheme in ("bearer", "BEARER"):
        response = await client.get(ME, headers={"Authorization": f"{scheme} {ada.access_token}"})
        assert response.status_code == 200


async def test_no_header_on_a_protected_route_is_a_401_without_invalid_token(client):
    response = await client.get(ME)
    assert_unauthenticated(response, bad_token=False)


async def test_a_bad_token_is_refused_even_where_anonymous_would_do(client):
    # Registration needs no sign-in, but "a bad credential is never quietly treated as
    # anonymous": the guard runs on every request, as GitHub answers 401 to a bad token anywhere.
    response = await client.post(
        REGISTER,
        json={"email": "ada@example.com", "name": "Ada", "password": PASSWORD},
        headers=bearer("garbage"),
    )
    assert_unauthenticated(response, bad_token=True)
    assert (await register(client)).status_code == 201  # it was not created meanwhile


async def test_a_deactivated_users_token_stops_at_once(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    assert await works(client, ada.access_token)
    await client.patch(f"/api/v1/users/{ada.id}", json={"is_active": False}, headers=admin.headers)
    assert_unauthenticated(await client.get(ME, headers=ada.headers), bad_token=True)
    assert_unauthenticated(await client.get("/api/v1/items", headers=ada.headers), bad_token=True)


async def test_a_reactivated_user_must_sign_in_again(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    url = f"/api/v1/users/{ada.id}"
    await client.patch(url, json={"is_active": False}, headers=admin.headers)
    await client.patch(url, json={"is_active": True}, headers=admin.headers)
    assert not await works(client, ada.access_token)
    assert await works(client, (await login(client, ada.user.email))["access_token"])


async def test_a_deleted_users_token_stops(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    response = await client.delete(f"/api/v1/users/{ada.id}", headers=admin.headers)
    assert response.status_code == 204
    assert_unauthenticated(await client.get(ME, headers=ada.headers), bad_token=True)
    assert_oauth_error(await refresh(client, ada.refresh_token), "invalid_grant")
