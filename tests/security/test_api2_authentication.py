"""API2 Broken authentication: forged and stale tokens, key rotation, sign-in throttling, enumeration.

Every token attack is tried on both faces; each starts from a token that works (the
control) and spoils exactly one thing. Sign-in exists on REST only (`/auth/token`).
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tandem.domain import global_ids
from tandem.domain.auth import throttle
from tandem.domain.auth.tokens import REQUIRED_CLAIMS, key_id
from tandem.persistence.counters import MemoryCounters
from tests.factories import PASSWORD, login, make_account, make_user
from tests.security.helpers import (
    assert_accepted_on_both_faces,
    assert_refused_on_both_faces,
    forge,
    fresh_window,
    serving,
    without_request_id,
)

TOKEN = "/api/v1/auth/token"
OLD_KEY = "the-old-signing-key-retired-last-spring-0123456789"
NEW_KEY = "the-new-signing-key-rotated-in-this-autumn-987654"
OTHER_KEY = "a-key-this-server-never-had-in-its-key-set-24680"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- Forged tokens ----------------------------------------------------------------------------


async def test_a_hand_built_token_works_on_both_faces(client, services, settings):
    # The control for every forgery below: the forge itself makes tokens the server accepts.
    ada = await make_account(services, client)
    await assert_accepted_on_both_faces(client, forge(settings, ada), user_id=ada.id)


async def test_alg_none_is_refused(client, services):
    ada = await make_account(services, client)
    header = {**jwt.get_unverified_header(ada.access_token), "alg": "none"}
    claims = jwt.decode(ada.access_token, options={"verify_signature": False})
    unsigned = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."
    await assert_refused_on_both_faces(client, unsigned)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_another_algorithm_with_the_right_key_is_refused(client, services, settings):
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, forge(settings, ada, algorithm="HS512"))


async def test_a_token_signed_with_a_key_the_server_does_not_hold_is_refused(
    client, services, settings
):
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, forge(settings, ada, key=OTHER_KEY))
    # Claiming the server's own key id does not help: the signature still does not verify.
    own_kid = key_id(settings.verification_keys()[0])
    await assert_refused_on_both_faces(
        client, forge(settings, ada, key=OTHER_KEY, headers={"kid": own_kid})
    )


async def test_a_tampered_payload_is_refused(client, services):
    ada = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    header, payload, signature = ada.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(admin.id)
    tampered = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    await assert_refused_on_both_faces(client, tampered)


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
async def test_a_token_missing_a_required_claim_is_refused(client, services, settings, claim):
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, forge(settings, ada, drop=claim))


async def test_an_expired_token_is_refused(client, services, settings):
    ada = await make_account(services, client)
    past = datetime.now(UTC) - timedelta(hours=1)
    token = forge(settings, ada, iat=past, exp=past + timedelta(minutes=15))
    await assert_refused_on_both_faces(client, token)


@pytest.mark.parametrize(
    ("claim", "value"), [("aud", "someone-else"), ("iss", "https://evil.example")]
)
async def test_a_token_for_another_audience_or_issuer_is_refused(
    client, services, settings, claim, value
):
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, forge(settings, ada, **{claim: value}))


async def test_a_refresh_token_is_not_an_access_token(client, services):
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, ada.refresh_token)


@pytest.mark.parametrize("typ", ["JWT", None])
async def test_a_jwt_not_typed_as_an_access_token_is_refused(client, services, settings, typ):
    # A reset token or an ID token signed with the same key must never pass for an access token.
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, forge(settings, ada, headers={"typ": typ}))


async def test_a_revoked_access_token_is_refused(client, services):
    ada = await make_account(services, client)
    revoked = await client.post("/api/v1/auth/revoke", data={"token": ada.access_token})
    assert revoked.status_code == 200
    await assert_refused_on_both_faces(client, ada.access_token)


async def test_revoking_the_refresh_token_ends_its_access_tokens_too(client, services):
    ada = await make_account(services, client)
    await client.post("/api/v1/auth/revoke", data={"token": ada.refresh_token})
    await assert_refused_on_both_faces(client, ada.access_token)


async def test_a_deleted_users_token_is_refused(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    response = await client.delete(f"/api/v1/users/{ada.id}", headers=admin.headers)
    assert response.status_code == 204
    await assert_refused_on_both_faces(client, ada.access_token)


async def test_a_deactivated_users_token_is_refused(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    response = await client.patch(
        f"/api/v1/users/{ada.id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200
    await assert_refused_on_both_faces(client, ada.access_token)


async def test_a_well_signed_token_for_a_user_that_never_existed_is_refused(
    client, services, settings
):
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, forge(settings, ada, sub="424242"))


# --- Key ids and key rotation -------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["0123456789ab", "../../../../dev/null", "", None])
async def test_an_unknown_or_missing_kid_is_refused(client, services, settings, kid):
    ada = await make_account(services, client)
    await assert_refused_on_both_faces(client, forge(settings, ada, headers={"kid": kid}))


async def test_a_token_signed_with_a_retired_key_still_in_the_set_verifies(settings, services):
    async with serving(settings, services.database, secret_keys=[OLD_KEY]) as before:
        ada = await make_account(services, before.client)
        assert jwt.get_unverified_header(ada.access_token)["kid"] == key_id(OLD_KEY)
    async with serving(settings, services.database, secret_keys=[NEW_KEY, OLD_KEY]) as during:
        await assert_accepted_on_both_faces(during.client, ada.access_token, user_id=ada.id)
        # New tokens are signed with the new key, the first of the set.
        fresh = (await login(during.client, ada.user.email))["access_token"]
        assert jwt.get_unverified_header(fresh)["kid"] == key_id(NEW_KEY)


async def test_a_token_signed_with_a_removed_key_is_refused(settings, services):
    async with serving(settings, services.database, secret_keys=[OLD_KEY]) as before:
        ada = await make_account(services, before.client)
    async with serving(settings, services.database, secret_keys=[NEW_KEY]) as after:
        await assert_refused_on_both_faces(after.client, ada.access_token)
        fresh = (await login(after.client, ada.user.email))["access_token"]
        await assert_accepted_on_both_faces(after.client, fresh, user_id=ada.id)


# --- Sign-in throttling ---------------------------------------------------------------------------

THROTTLE = {
    "login_max_failures_per_account": 3,
    "login_max_failures_per_address": 5,
    "login_failure_window_seconds": 3600,
}


async def sign_in(client, email: str, password: str):
    return await client.post(
        TOKEN, data={"grant_type": "password", "username": email, "password": password}
    )


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "RATE_LIMITED"
    assert 0 < int(response.headers["retry-after"]) <= 3600


async def test_repeated_failures_for_one_account_are_throttled(settings, services):
    await fresh_window(3600)
    ada = await make_user(services)
    async with serving(settings, services.database, **THROTTLE) as app:
        for attempt in range(3):
            response = await sign_in(app.client, ada.email, f"wrong guess {attempt}")
            assert response.status_code == 400, response.text
        # The fourth try is refused before the password is looked at, even the right one.
        assert_throttled(await sign_in(app.client, ada.email, PASSWORD))
        assert_throttled(await sign_in(app.client, ada.email.upper(), PASSWORD))
        assert_throttled(await sign_in(app.client, f"  {ada.email.title()} ", PASSWORD))


async def test_the_throttle_and_the_lookup_read_one_normalised_email(settings, services):
    # Finding 7: the throttle keyed Python's lower(), the lookup PostgreSQL's, so
    # `vİctim@example.com` was a fresh budget that signed in as `victim@example.com`.
    await fresh_window(3600)
    await make_user(services, email="victim@example.com")
    async with serving(settings, services.database, **THROTTLE) as app:
        for attempt in range(3):
            await sign_in(app.client, "Victim@Example.COM", f"wrong guess {attempt}")
        assert_throttled(await sign_in(app.client, "victim@example.com", PASSWORD))
        dotted = await sign_in(app.client, "vİctim@example.com", PASSWORD)
        folded = await sign_in(app.client, "vi\u0307ctim@example.com", PASSWORD)
    assert dotted.status_code == 400, dotted.text  # another address, and no account
    assert dotted.json()["error"] == "invalid_grant"
    assert folded.status_code == 400, folded.text


async def test_an_email_is_stored_normalised_and_matched_exactly(client, services):
    created = await client.post(
        "/api/v1/auth/register",
        json={"email": " Ada.Lovelace@EXAMPLE.com ", "name": "Ada", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "ada.lovelace@example.com"
    again = await client.post(
        "/api/v1/auth/register",
        json={"email": "ADA.LOVELACE@example.com", "name": "Ada", "password": PASSWORD},
    )
    assert again.status_code == 409, again.text
    dotted = await client.post(
        "/api/v1/auth/register",
        json={"email": "adİ.lovelace@example.com", "name": "Adi", "password": PASSWORD},
    )
    assert dotted.status_code == 201, dotted.text
    assert dotted.json()["email"] == "adi\u0307.lovelace@example.com"
    assert (await sign_in(client, "ADA.Lovelace@example.COM", PASSWORD)).status_code == 200
    assert (await sign_in(client, "adİ.LOVELACE@example.com", PASSWORD)).status_code == 200


async def test_another_addresss_right_password_signs_in_while_one_address_is_throttled(
    settings, services
):
    # Finding 7: ten wrong passwords from anywhere locked the account for everyone.
    await fresh_window(3600)
    ada = await make_user(services)
    shared = MemoryCounters()
    async with serving(
        settings, services.database, counters=shared, address="10.0.0.1", **THROTTLE
    ) as first:
        for attempt in range(3):
            await sign_in(first.client, ada.email, f"wrong guess {attempt}")
        assert_throttled(await sign_in(first.client, ada.email, PASSWORD))
    async with serving(
        settings, services.database, counters=shared, address="10.0.0.2", **THROTTLE
    ) as second:
        assert (await sign_in(second.client, ada.email, PASSWORD)).status_code == 200


@pytest.fixture
def delays(monkeypatch) -> list[float]:
    """The waits the sign-in throttle asks for, recorded instead of slept."""
    asked: list[float] = []

    async def recorded(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(throttle, "sleep", recorded, raising=False)
    return asked


async def test_guesses_at_one_account_from_many_addresses_slow_down_and_never_lock_it(
    settings, services, delays
):
    await fresh_window(3600)
    ada = await make_user(services)
    shared = MemoryCounters()
    statuses = []
    for number in range(7):  # one guess from each of seven addresses
        async with serving(
            settings, services.database, counters=shared, address=f"10.0.2.{number}", **THROTTLE
        ) as app:
            statuses.append((await sign_in(app.client, ada.email, f"guess {number}")).status_code)
    async with serving(
        settings, services.database, counters=shared, address="10.0.2.99", **THROTTLE
    ) as owner:
        right = await sign_in(owner.client, ada.email, PASSWORD)
    assert statuses == [400] * 7  # never 429: no address went past its limits
    # After 3 failures (the per-account-and-address limit), each attempt waits twice as
    # long as the one before, up to LOGIN_MAX_DELAY_SECONDS; the owner's too, who then
    # signs in.
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert right.status_code == 200, right.text


async def test_the_delay_is_capped_and_answers_alike_for_unknown_emails(settings, services, delays):
    await fresh_window(3600)
    shared = MemoryCounters()
    answers = []
    for number in range(6):
        async with serving(
            settings,
            services.database,
            counters=shared,
            address=f"10.0.3.{number}",
            login_max_delay_seconds=1.5,
            **THROTTLE,
        ) as app:
            answers.append(await sign_in(app.client, "nobody@example.com", "guess"))
    assert [answer.status_code for answer in answers] == [400] * 6
    assert delays == [0.5, 1.0, 1.5]


async def test_repeated_failures_from_one_address_are_throttled(settings, services):
    await fresh_window(3600)
    ada = await make_user(services)
    async with serving(settings, services.database, address="10.0.0.3", **THROTTLE) as app:
        for number in range(5):  # a spray: one guess each at many accounts
            response = await sign_in(app.client, f"victim{number}@example.com", "Winter2026!")
            assert response.status_code == 400, response.text
        assert_throttled(await sign_in(app.client, ada.email, PASSWORD))


async def test_concurrent_guesses_cannot_slip_past_the_throttle(settings, services):
    # Twenty guesses sent at once must not all be checked before the first failure is counted.
    await fresh_window(3600)
    ada = await make_user(services)
    async with serving(settings, services.database, **THROTTLE) as app:
        responses = await asyncio.gather(
            *(sign_in(app.client, ada.email, f"guess {n}") for n in range(20))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(400) == 3, statuses
    assert statuses.count(429) == 17, statuses


async def test_a_successful_sign_in_clears_the_account_count(settings, services):
    await fresh_window(3600)
    ada = await make_user(services)
    async with serving(settings, services.database, **THROTTLE) as app:
        for attempt in range(2):
            await sign_in(app.client, ada.email, f"typo {attempt}")
        assert (await sign_in(app.client, ada.email, PASSWORD)).status_code == 200
        for attempt in range(2):
            response = await sign_in(app.client, ada.email, f"typo again {attempt}")
            assert response.status_code == 400, response.text


# --- User enumeration -------------------------------------------------------------------------------


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, services):
    ada = await make_user(services)
    known = await sign_in(client, ada.email, "not the password")
    unknown = await sign_in(client, "nobody@example.com", "not the password")
    assert known.status_code == unknown.status_code == 400
    assert (
        known.json()
        == unknown.json()
        == {
            "error": "invalid_grant",
            "error_description": "The email or password is incorrect.",
        }
    )


async def test_a_deactivated_account_answers_like_a_wrong_password(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_user(services)
    await client.patch(f"/api/v1/users/{ada.id}", json={"is_active": False}, headers=admin.headers)
    right_password = await sign_in(client, ada.email, PASSWORD)
    unknown = await sign_in(client, "nobody@example.com", PASSWORD)
    assert right_password.status_code == unknown.status_code == 400
    assert right_password.json() == unknown.json()


async def test_the_throttle_answers_alike_for_known_and_unknown_emails(settings, services):
    await fresh_window(3600)
    ada = await make_user(services)
    throttled = {}
    for email, address in ((ada.email, "10.0.1.1"), ("nobody@example.com", "10.0.1.2")):
        async with serving(settings, services.database, address=address, **THROTTLE) as app:
            for attempt in range(3):
                await sign_in(app.client, email, f"guess {attempt}")
            throttled[email] = await sign_in(app.client, email, "guess 4")
    known, unknown = throttled[ada.email], throttled["nobody@example.com"]
    assert_throttled(known)
    assert_throttled(unknown)
    assert without_request_id(known) == without_request_id(unknown)
    assert set(known.headers) == set(unknown.headers)


async def test_anonymous_lookups_of_users_reveal_nothing(client, services):
    ada = await make_user(services)
    existing = await client.get(f"/api/v1/users/{ada.id}")
    missing = await client.get("/api/v1/users/987654")
    assert existing.status_code == missing.status_code == 401
    assert without_request_id(existing) == without_request_id(missing)

    query = "query($id: ID!) { user(id: $id) { name } }"
    answers = []
    for number in (ada.id, 987654):
        variables = {"id": global_ids.encode("User", number)}
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        body = response.json()
        answers.append((body["data"], body["errors"]))
    assert answers[0] == answers[1]
    assert answers[0][1][0]["extensions"]["code"] == "UNAUTHENTICATED"
