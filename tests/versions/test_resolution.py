"""Dated API versions: which version serves a request, and pins that only move forward.

A request names one with `Tandem-Version`; else its client's pinned one; else the
newest. Every answer under /api/v1 says which served it, errors included.
"""

from __future__ import annotations

from tandem.http.versions import NEWEST, OLDEST, VERSIONS
from tests.api.assertions import assert_problem
from tests.factories import make_account, make_user
from tests.partners.helpers import TOKEN, bearer, make_client

ITEMS = "/api/v1/items"
CLIENTS = "/api/v1/clients"
WEBHOOKS = "/api/v1/webhooks"


async def client_token(client, client_id: str, secret: str) -> dict[str, str]:
    answer = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def test_there_are_two_versions_the_older_being_the_release():
    assert [str(v) for v in VERSIONS] == ["2026-12-01", "2026-12-07"]
    assert OLDEST < NEWEST


async def test_every_answer_names_the_version_that_served_it_errors_too(client, services):
    account = await make_account(services, client)
    for version in VERSIONS:
        headers = {**account.headers, "Tandem-Version": str(version)}
        for answer in (
            await client.get(ITEMS, headers=headers),
            await client.get(f"{ITEMS}/999999", headers=headers),  # 404
            await client.post(ITEMS, json={}, headers=headers),  # 422
            await client.get("/api/v1/nowhere", headers=headers),  # 404, no route
        ):
            assert answer.headers["tandem-version"] == str(version), answer.text
    anonymous = await client.get(ITEMS)  # 401
    assert anonymous.status_code == 401
    assert anonymous.headers["tandem-version"] == str(NEWEST)
    bad_token = await client.get(ITEMS, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    assert bad_token.headers["tandem-version"] == str(NEWEST)


async def test_graphql_and_health_answers_carry_no_version(client, services):
    assert "tandem-version" not in (await client.get("/healthz")).headers
    answer = await client.post("/graphql", json={"query": "{ __typename }"})
    assert "tandem-version" not in answer.headers


async def test_an_unknown_version_is_400_naming_the_supported_ones(client, services):
    account = await make_account(services, client)
    for asked in ("2020-01-01", "2026-12-08", "latest", "2026-12-7", ""):
        answer = await client.get(ITEMS, headers={**account.headers, "Tandem-Version": asked})
        body = assert_problem(answer, 400, "UNKNOWN_VERSION")
        for version in VERSIONS:
            assert str(version) in body["detail"]
        assert answer.headers["tandem-version"] == str(NEWEST)
    # Refused before anything runs: not even a write.
    answer = await client.post(
        ITEMS, json={"title": "never"}, headers={**account.headers, "Tandem-Version": "2001-01-01"}
    )
    assert answer.status_code == 400
    assert (await client.get(ITEMS, headers=account.headers)).json()["total"] == 0


async def test_no_header_is_the_clients_pin_else_the_newest(client, services):
    account = await make_account(services, client)
    assert (await client.get(ITEMS, headers=account.headers)).headers["tandem-version"] == str(
        NEWEST
    )
    old_id, old_secret = await make_client(services, user_id=account.id, api_version=str(OLDEST))
    new_id, new_secret = await make_client(services, user_id=account.id)
    pinned_old = await client_token(client, old_id, old_secret)
    pinned_new = await client_token(client, new_id, new_secret)
    answer = await client.get(ITEMS, headers=pinned_old)
    assert answer.status_code == 200
    assert answer.headers["tandem-version"] == str(OLDEST)
    assert (await client.get(ITEMS, headers=pinned_new)).headers["tandem-version"] == str(NEWEST)
    # The header wins over the pin, both ways.
    asked = await client.get(ITEMS, headers={**pinned_old, "Tandem-Version": str(NEWEST)})
    assert asked.headers["tandem-version"] == str(NEWEST)
    asked = await client.get(ITEMS, headers={**pinned_new, "Tandem-Version": str(OLDEST)})
    assert asked.headers["tandem-version"] == str(OLDEST)


async def test_a_client_is_pinned_to_the_newest_and_moves_only_forward(client, services):
    admin = await make_account(services, client, role="admin")
    owner = await make_user(services)
    created = await client.post(
        CLIENTS,
        json={"name": "Acme", "user_id": owner.id, "scopes": ["items:read"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["api_version"] == str(NEWEST)
    listed = (await client.get(CLIENTS, headers=admin.headers)).json()
    assert [c["api_version"] for c in listed] == [str(NEWEST)]

    # One pinned to the oldest (as every client made before versions is) moves forward.
    old_id, old_secret = await make_client(services, user_id=owner.id, api_version=str(OLDEST))
    row = next(
        c
        for c in (await client.get(CLIENTS, headers=admin.headers)).json()
        if c["client_id"] == old_id
    )
    assert row["api_version"] == str(OLDEST)
    token = await client_token(client, old_id, old_secret)
    assert (await client.get(ITEMS, headers=token)).headers["tandem-version"] == str(OLDEST)
    moved = await client.patch(
        f"{CLIENTS}/{row['id']}", json={"api_version": str(NEWEST)}, headers=admin.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["api_version"] == str(NEWEST)
    # The same token now gets the new pin: the guard reads it on every request.
    assert (await client.get(ITEMS, headers=token)).headers["tandem-version"] == str(NEWEST)

    back = await client.patch(
        f"{CLIENTS}/{row['id']}", json={"api_version": str(OLDEST)}, headers=admin.headers
    )
    body = assert_problem(back, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["loc"] == ["body", "api_version"]
    assert "forward" in body["errors"][0]["msg"]
    unknown = await client.patch(
        f"{CLIENTS}/{row['id']}", json={"api_version": "2030-01-01"}, headers=admin.headers
    )
    body = assert_problem(unknown, 422, "VALIDATION_FAILED")
    assert all(str(v) in body["errors"][0]["msg"] for v in VERSIONS)
    same = await client.patch(
        f"{CLIENTS}/{row['id']}", json={"api_version": str(NEWEST)}, headers=admin.headers
    )
    assert same.status_code == 200
    missing = await client.patch(
        f"{CLIENTS}/999999", json={"api_version": str(NEWEST)}, headers=admin.headers
    )
    assert_problem(missing, 404, "NOT_FOUND")
    member = await make_account(services, client)
    refused = await client.patch(
        f"{CLIENTS}/{row['id']}", json={"api_version": str(NEWEST)}, headers=member.headers
    )
    assert_problem(refused, 403, "FORBIDDEN")


async def test_a_webhook_endpoint_is_pinned_to_the_newest_and_moves_only_forward(client, services):
    account = await make_account(services, client)
    created = await client.post(
        WEBHOOKS,
        json={"url": "http://127.0.0.1:9/hook", "events": ["*"]},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["api_version"] == str(NEWEST)
    # Endpoints made before versions are pinned to the oldest (migration 0020's default).
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute(
            "UPDATE webhook_endpoints SET api_version = $1 WHERE id = $2", str(OLDEST), hook["id"]
        )
    shown = (await client.get(f"{WEBHOOKS}/{hook['id']}", headers=account.headers)).json()
    assert shown["api_version"] == str(OLDEST)
    moved = await client.patch(
        f"{WEBHOOKS}/{hook['id']}", json={"api_version": str(NEWEST)}, headers=account.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["api_version"] == str(NEWEST)
    back = await client.patch(
        f"{WEBHOOKS}/{hook['id']}", json={"api_version": str(OLDEST)}, headers=account.headers
    )
    body = assert_problem(back, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["loc"] == ["body", "api_version"]
    unknown = await client.patch(
        f"{WEBHOOKS}/{hook['id']}", json={"api_version": "1999-01-01"}, headers=account.headers
    )
    assert_problem(unknown, 422, "VALIDATION_FAILED")


async def test_rows_from_before_versions_get_the_oldest(services):
    """Migration 0020's default: what every client and endpoint was served before."""
    async with services.database.reader() as uow:
        defaults = await uow.connection.raw.fetch(
            "SELECT table_name, column_default FROM information_schema.columns"
            " WHERE column_name = 'api_version' ORDER BY table_name"
        )
    assert [(row[0], row[1]) for row in defaults] == [
        ("api_clients", f"'{OLDEST}'::text"),
        ("webhook_endpoints", f"'{OLDEST}'::text"),
    ]


async def test_an_idempotent_replay_is_in_its_own_version(client, services):
    """A stored answer is written in one version: replayed in it, refused in another."""
    account = await make_account(services, client)
    old = {**account.headers, "Tandem-Version": str(OLDEST), "Idempotency-Key": "k-1"}
    first = await client.post(ITEMS, json={"title": "Once"}, headers=old)
    assert first.status_code == 201 and "version" in first.json()
    again = await client.post(ITEMS, json={"title": "Once"}, headers=old)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["tandem-version"] == str(OLDEST)
    newer = await client.post(
        ITEMS, json={"title": "Once"}, headers={**old, "Tandem-Version": str(NEWEST)}
    )
    assert_problem(newer, 422, "IDEMPOTENCY_KEY_REUSED")
    assert (await client.get(ITEMS, headers=account.headers)).json()["total"] == 1


async def test_browsers_may_send_and_read_the_version(settings, services):
    import httpx

    from tandem.app import create_app

    app = create_app(
        settings.model_copy(update={"cors_origins": ["https://web.example"]}), services=services
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as browser:
        preflight = await browser.options(
            ITEMS,
            headers={
                "Origin": "https://web.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "tandem-version",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert "tandem-version" in preflight.headers["access-control-allow-headers"].lower()
        answer = await browser.get(ITEMS, headers={"Origin": "https://web.example"})
        assert "tandem-version" in answer.headers["access-control-expose-headers"].lower()
