"""API8 Security misconfiguration: production mode, CORS, error hygiene, headers, secrets.

Production (TANDEM_ENV=production) must not hand out the schema (no introspection, no
GraphiQL, no "Did you mean" hints that rebuild it field by field), nor the insides of a
crash. CORS answers configured origins only. No error echoes a secret it was sent.
"""

from __future__ import annotations

import stat
from typing import Any

import pytest

from tandem.config import Settings, SettingsError, get_settings
from tests.factories import PASSWORD, make_account, make_user
from tests.security.helpers import PROBLEM, RATE_HEADERS, codes, graphql, serving

SECRET = "hunter2-correct-horse"

# Each mistypes one name of the schema; in development the answer suggests the right one.
TYPOS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "field": ("{ itemz { id } }", None),
    "argument": ("{ items(frist: 1) { totalCount } }", None),
    "enum value": ("{ items(orderBy: TITLE_AS) { totalCount } }", None),
    "input field": ("{ items(filter: {statsu: DRAFT}) { totalCount } }", None),
    "type": ('{ item(id: "SXRlbTox") { ...F } } fragment F on Itemz { id }', None),
    "input field in variables": (
        "query($f: ItemFilter) { items(filter: $f) { totalCount } }",
        {"f": {"statsu": "DRAFT"}},
    ),
    "enum value in variables": (
        "query($f: ItemFilter) { items(filter: $f) { totalCount } }",
        {"f": {"status": "DRAF"}},
    ),
}


@pytest.fixture
async def production(settings, services):
    async with serving(settings, services.database, tandem_env="production") as app:
        yield app


# --- Production mode --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["{ __schema { types { name } } }", '{ __type(name: "User") { name } }']
)
async def test_production_refuses_introspection(client, services, production, query):
    ada = await make_account(services, client)
    body = (await graphql(production.client, query, headers=ada.headers)).json()
    assert body.get("data") is None and set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    # The control: development answers the same query.
    assert (await graphql(client, query, headers=ada.headers)).json().get("data")


async def test_production_serves_no_graphiql(client, production):
    page = await production.client.get("/graphql", headers={"Accept": "text/html"})
    assert "text/html" not in page.headers.get("content-type", "")
    assert "graphiql" not in page.text.lower()
    # The control: development opens GraphiQL for a browser.
    assert (
        "graphiql" in (await client.get("/graphql", headers={"Accept": "text/html"})).text.lower()
    )


@pytest.mark.parametrize("typo", list(TYPOS))
async def test_production_never_suggests_a_name(client, services, production, typo):
    query, variables = TYPOS[typo]
    ada = await make_account(services, client)
    body = (await graphql(production.client, query, variables, headers=ada.headers)).json()
    assert body.get("data") is None and body["errors"], body
    assert "did you mean" not in str(body).lower(), body
    # The control: development does suggest, so the typo really is one a hint would fix.
    hinted = (await graphql(client, query, variables, headers=ada.headers)).json()
    assert "did you mean" in str(hinted).lower(), hinted


async def test_production_masks_a_crash_on_both_faces(settings, services, monkeypatch):
    ada = await make_user(services)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("SELECT password_hash FROM users -- postgres://admin:s3cret@db")

    async with serving(settings, services.database, tandem_env="production") as app:
        tokens = await app.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": ada.email, "password": PASSWORD},
        )
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        monkeypatch.setattr(app.services.items, "page", broken)
        monkeypatch.setattr(app.services.items, "slice", broken)
        rest = await app.client.get("/api/v1/items", headers=headers)
        gql = await graphql(app.client, "{ items { totalCount } }", headers=headers)

    assert rest.status_code == 500 and rest.headers["content-type"] == PROBLEM
    assert rest.json()["code"] == "INTERNAL"
    assert codes(gql.json()) == ["INTERNAL"]
    assert gql.json()["errors"][0]["extensions"]["request_id"] == gql.headers["x-request-id"]
    for response in (rest, gql):
        for leak in ("RuntimeError", "Traceback", "SELECT", "password_hash", "s3cret", 'File "'):
            assert leak not in response.text, (leak, response.text)


def test_production_will_not_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env to read
    for name in ("SECRET_KEY", "SECRET_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TANDEM_ENV", "production")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="SECRET_KEY"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_the_generated_development_key_is_readable_by_its_owner_only(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", secret_key=None, secret_keys=[])
    key = settings.signing_key()
    assert len(key) >= 32
    mode = stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode)
    assert mode == 0o600


# --- CORS: configured origins only -------------------------------------------------------------

ALLOWED = "https://app.example"
EVIL = "https://evil.example"


def preflight(origin: str, path: str = "/api/v1/items") -> dict[str, Any]:
    return {
        "method": "OPTIONS",
        "url": path,
        "headers": {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    }


async def test_without_configured_origins_no_origin_is_allowed(client, services):
    ada = await make_account(services, client)
    for origin in (ALLOWED, EVIL, "null"):
        answered = await client.request(**preflight(origin))
        simple = await client.get("/api/v1/items", headers={**ada.headers, "Origin": origin})
        for response in (answered, simple):
            assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("path", ["/api/v1/items", "/graphql"])
async def test_only_a_configured_origin_is_allowed(settings, services, path):
    async with serving(settings, services.database, cors_origins=[ALLOWED]) as app:
        good = await app.client.request(**preflight(ALLOWED, path))
        bad = [await app.client.request(**preflight(origin, path)) for origin in (EVIL, "null")]
        lookalike = await app.client.request(**preflight(ALLOWED + ".evil.example", path))
        simple = await app.client.get("/api/v1/items", headers={"Origin": EVIL})
    assert good.status_code == 200
    assert good.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in good.headers
    for response in (*bad, lookalike, simple):
        assert "access-control-allow-origin" not in response.headers, response.headers


async def test_a_web_client_on_an_allowed_origin_can_read_its_quota(settings, services):
    # A browser hides every response header not listed in Access-Control-Expose-Headers.
    ada = await make_user(services)
    async with serving(settings, services.database, cors_origins=[ALLOWED]) as app:
        tokens = await app.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": ada.email, "password": PASSWORD},
        )
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}", "Origin": ALLOWED}
        response = await graphql(app.client, "{ me { id } }", headers=headers)
    exposed = {
        name.strip().lower()
        for name in response.headers["access-control-expose-headers"].split(",")
    }
    assert {*RATE_HEADERS, "retry-after", "x-request-id"} <= exposed


# --- Errors never echo what they were sent -------------------------------------------------------


async def test_rest_validation_errors_never_echo_a_password(client, services):
    ada = await make_account(services, client)
    answers = [
        await client.post(
            "/api/v1/auth/register",
            json={"email": "not-an-email", "name": "M", "password": SECRET, "extra": SECRET},
        ),
        await client.post(
            "/api/v1/auth/register",
            json={"email": "m@example.com", "name": "M", "password": SECRET[:6]},
        ),
        await client.patch(
            "/api/v1/users/me",
            json={"password": SECRET + "x" * 200, "current_password": SECRET},
            headers=ada.headers,
        ),
        await client.patch("/api/v1/users/me", json={"password": 12345678}, headers=ada.headers),
    ]
    for response in answers:
        assert response.status_code == 422, response.text
        assert SECRET not in response.text and SECRET[:6] not in response.text
        assert "12345678" not in response.text


UPDATE_ME = "mutation($input: UpdateMeInput!) { updateMe(input: $input) { name } }"


@pytest.mark.parametrize(
    "input_",
    [
        {"password": SECRET, "currentPassword": SECRET + "!", "unknown": 1},
        {"password": SECRET, "currentPassword": ["not", SECRET]},
        {"password": {"nested": SECRET}},
        {"name": SECRET, "password": 12345678},
        SECRET,
    ],
    ids=[
        "unknown field",
        "wrong type",
        "object for a string",
        "number for a string",
        "not an object",
    ],
)
async def test_graphql_variable_errors_never_echo_a_password(client, services, input_):
    ada = await make_account(services, client)
    response = await graphql(client, UPDATE_ME, {"input": input_}, headers=ada.headers)
    body = response.json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert SECRET not in response.text and "12345678" not in response.text, response.text
    assert "input" in body["errors"][0]["message"]  # it still says which variable is wrong


async def test_graphql_literal_errors_never_echo_a_password(client, services):
    ada = await make_account(services, client)
    mutation = (
        'mutation { updateMe(input: {password: 12345678, currentPassword: ["%s"]}) { name } }'
    )
    response = await graphql(client, mutation % SECRET, headers=ada.headers)
    assert codes(response.json())
    assert SECRET not in response.text and "12345678" not in response.text, response.text


async def test_graphql_domain_validation_never_echoes_a_password(client, services):
    ada = await make_account(services, client)
    mutation = 'mutation { updateMe(input: {password: "shortpw", currentPassword: "%s"}) { name } }'
    response = await graphql(client, mutation % SECRET, headers=ada.headers)
    assert codes(response.json()) == ["BAD_USER_INPUT"]
    assert "shortpw" not in response.text and SECRET not in response.text


# --- Headers ----------------------------------------------------------------------------------------


async def test_token_answers_are_never_cached(client, services):
    ada = await make_user(services)
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": ada.email, "password": PASSWORD},
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_responses_forbid_content_sniffing(client, services):
    ada = await make_account(services, client)
    for response in (
        await client.get("/api/v1/users/me", headers=ada.headers),
        await client.get("/api/v1/no-such-route"),
        await graphql(client, "{ me { id } }", headers=ada.headers),
    ):
        assert response.headers.get("x-content-type-options") == "nosniff"


async def test_answers_to_signed_in_callers_are_never_kept_by_shared_caches(client, services):
    ada = await make_account(services, client)
    mine = await client.get("/api/v1/users/me", headers=ada.headers)
    assert mine.headers["cache-control"] == "private, no-cache"
    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": ada.refresh_token},
    )
    assert token.headers["cache-control"] == "no-store"  # a route's own policy wins
    anonymous = await client.get("/healthz")
    assert "cache-control" not in anonymous.headers
