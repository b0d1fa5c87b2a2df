"""The REST face's error contract: problem+json everywhere, request ids, body limits, health."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.domain.services import Services
from tandem.persistence.database import Database
from tests.api.assertions import assert_problem, error_locs
from tests.factories import make_account, make_item

MIB = 1024 * 1024
SANE_ID = r"^[A-Za-z0-9._:-]{1,128}$"


async def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


# --- Unknown routes, wrong methods, malformed and invalid bodies ---------------------------


async def test_an_unknown_route_is_a_404_problem(client):
    response = await client.get("/api/v1/no-such-thing")
    assert_problem(response, 404, "NOT_FOUND")


async def test_an_unknown_route_outside_the_api_is_a_404_problem_too(client):
    response = await client.post("/nowhere", json={})
    assert_problem(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/users/me", "DELETE, GET, PATCH"),
        ("/api/v1/items", "GET, POST"),
        ("/api/v1/items/1", "DELETE, GET, PATCH"),
        ("/api/v1/auth/token", "POST"),
    ],
)
async def test_a_wrong_method_is_a_405_problem_naming_every_allowed_one(client, path, allowed):
    response = await client.put(path, json={})
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allowed  # RFC 9110: all of the resource's methods


async def test_malformed_json_is_a_422_validation_problem(client):
    response = await client.post(
        "/api/v1/auth/register",
        content=b'{"email": "ada@example.com", "name": "Ada", ',
        headers={"Content-Type": "application/json"},
    )
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["type"] == "json_invalid"


async def test_a_validation_failure_lists_each_field_error(client):
    response = await client.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": "short"}
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert set(error_locs(response)) == {("body", "name"), ("body", "password")}


async def test_a_validation_failure_never_echoes_what_was_sent(client):
    password = "Xq7#shr"  # seven characters: too short, and distinctive enough to find
    email = "echo-check@example.com"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "name": "Echo", "password": password, "role": "admin"},
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert password not in response.text
    assert "input" not in {key for error in response.json()["errors"] for key in error}


async def test_a_domain_validation_failure_never_echoes_the_password(client):
    password = "a-perfectly-fine-password"
    response = await client.post(
        "/api/v1/auth/register", json={"email": "not an email", "name": "X", "password": password}
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert password not in response.text


# --- Body size ------------------------------------------------------------------------------


async def test_a_body_over_one_mib_with_content_length_is_a_413(client, services):
    ada = await make_account(services, client)
    body = b'{"title": "' + b"x" * MIB + b'"}'
    response = await client.post(
        "/api/v1/items",
        content=body,
        headers={**ada.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_streamed_body_over_one_mib_is_a_413(client, services):
    ada = await make_account(services, client)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        "/api/v1/items",
        content=chunks(),
        headers={**ada.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_streamed_form_over_one_mib_is_a_413(client):
    async def chunks() -> AsyncIterator[bytes]:
        yield b"grant_type=password&username="
        for _ in range(17):
            yield b"a" * 65536

    response = await client.post(
        "/api/v1/auth/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_body_of_exactly_one_mib_is_not_refused_for_its_size(client, services):
    ada = await make_account(services, client)
    padding = MIB - len(b'{"title": "t", "description": ""}')
    body = b'{"title": "t", "description": "' + b" " * padding + b'"}'
    assert len(body) == MIB
    response = await client.post(
        "/api/v1/items", content=body, headers={**ada.headers, "Content-Type": "application/json"}
    )
    # Refused for the description's length (a rule), not for the body's size (a limit).
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("body", "description")]


# --- X-Request-ID ---------------------------------------------------------------------------


async def test_a_request_id_is_generated_when_none_is_sent(client):
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    for answer in (first, second):  # a random UUID in hex, as uuid4().hex writes one
        generated = uuid.UUID(hex=answer.headers["x-request-id"])
        assert generated.version == 4 and generated.variant == uuid.RFC_4122
        assert generated.hex == answer.headers["x-request-id"]


async def test_a_sane_request_id_is_echoed(client):
    response = await client.get("/api/v1/nope", headers={"X-Request-ID": "trace-42.a:b_c"})
    assert response.headers["x-request-id"] == "trace-42.a:b_c"
    assert response.json()["request_id"] == "trace-42.a:b_c"


async def test_a_request_id_of_128_characters_is_still_sane(client):
    incoming = "r" * 128
    response = await client.get("/healthz", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["has spaces in it", "x" * 500, "r" * 129, "<script>", "semi;colon"],
    ids=["spaces", "500-chars", "129-chars", "markup", "semicolon"],
)
async def test_an_insane_request_id_is_replaced(client, incoming):
    response = await client.get("/api/v1/nope", headers={"X-Request-ID": incoming})
    replaced = response.headers["x-request-id"]
    assert replaced != incoming
    assert 1 <= len(replaced) <= 128 and " " not in replaced
    assert response.json()["request_id"] == replaced
    assert incoming not in response.text


async def test_every_kind_of_response_carries_a_request_id(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    etag = (await client.get(f"/api/v1/items/{item['id']}", headers=ada.headers)).headers["etag"]
    responses = [
        await client.get("/healthz"),
        await client.get("/api/v1/users/me", headers=ada.headers),
        await client.post("/api/v1/items", json={"title": "t"}, headers=ada.headers),
        await client.get(
            f"/api/v1/items/{item['id']}", headers={**ada.headers, "If-None-Match": etag}
        ),
        await client.post("/api/v1/auth/token", data={"grant_type": "nope"}),
        await client.get("/api/v1/users/me"),
        await client.delete(f"/api/v1/items/{item['id']}", headers=ada.headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 201, 304, 400, 401, 204]
    for response in responses:
        assert response.headers["x-request-id"]


# --- Crashes --------------------------------------------------------------------------------


async def test_a_crash_is_a_500_problem_that_leaks_nothing(settings: Settings, services: Services):
    app = create_app(settings, services=services)

    async def explode() -> None:
        raise RuntimeError("SELECT secret FROM internals -- do not show this")

    app.add_api_route("/api/v1/explode", explode)
    async with await client_for(app) as client:
        response = await client.get("/api/v1/explode", headers={"X-Request-ID": "crash-1"})
    body = assert_problem(response, 500, "INTERNAL")
    assert body["request_id"] == "crash-1"
    for leak in ("Traceback", "RuntimeError", "SELECT", "internals", 'File "'):
        assert leak not in response.text


# --- Health ---------------------------------------------------------------------------------


async def test_healthz_answers_200(client):
    response = await client.get("/healthz")
    assert response.status_code == 200


async def test_readyz_answers_200_on_a_migrated_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200


async def test_readyz_answers_503_when_the_database_is_unreachable(settings: Settings):
    database = Database(
        "postgresql+asyncpg://postgres@/tandem?host=/nonexistent/tandem-socket-dir", pool_size=1
    )
    app = create_app(settings, services=services_for(settings, database))
    try:
        async with await client_for(app) as client:
            response = await client.get("/readyz")
            alive = await client.get("/healthz")
    finally:
        await database.dispose()
    assert_problem(response, 503, "UNAVAILABLE")
    assert int(response.headers["retry-after"]) > 0
    assert alive.status_code == 200


async def test_readyz_answers_503_when_the_database_is_not_migrated(
    settings: Settings, services: Services, database_url: str
):
    # The same server and database, but looking at an empty schema: reachable, not migrated.
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute("CREATE SCHEMA IF NOT EXISTS readyz_unmigrated")
    # asyncpg takes unknown URL parameters as server settings: this one hides the real schema.
    separator = "&" if "?" in database_url else "?"
    database = Database(f"{database_url}{separator}search_path=readyz_unmigrated", pool_size=1)

    app = create_app(settings, services=services_for(settings, database))
    try:
        async with await client_for(app) as client:
            response = await client.get("/readyz")
    finally:
        await database.dispose()
    assert_problem(response, 503, "UNAVAILABLE")


@pytest.mark.parametrize(
    ("revision", "status"),
    [
        ("9999_from_a_newer_release", 200),  # ahead: a rolling deploy's older replicas serve on
        ("0004_clients", 503),  # behind this code's head
    ],
)
async def test_readyz_accepts_a_database_ahead_of_the_code_but_not_behind_it(
    settings: Settings, services: Services, database_url: str, revision: str, status: int
):
    schema = f"readyz_{revision[:4]}"
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await uow.connection.raw.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.alembic_version (version_num text)"
        )
        await uow.connection.raw.execute(f"TRUNCATE {schema}.alembic_version")
        await uow.connection.raw.execute(
            f"INSERT INTO {schema}.alembic_version VALUES ($1)",  # noqa: S608 (our own name)
            revision,
        )
    separator = "&" if "?" in database_url else "?"
    database = Database(f"{database_url}{separator}search_path={schema}", pool_size=1)

    app = create_app(settings, services=services_for(settings, database))
    try:
        async with await client_for(app) as client:
            response = await client.get("/readyz")
    finally:
        await database.dispose()
    assert response.status_code == status, response.text


async def test_an_anonymous_caller_hears_401_before_any_complaint_about_its_input(client):
    """Whoever may not call a route learns nothing about what it would accept."""
    for method, path, body in [
        ("POST", "/api/v1/items", {"title": "", "colour": "red"}),
        ("PATCH", "/api/v1/items/1", {"price": "-1"}),
        ("PATCH", "/api/v1/users/me", {"name": ""}),
        ("GET", "/api/v1/items?size=0&sort=nonsense", None),
    ]:
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "UNAUTHENTICATED"
