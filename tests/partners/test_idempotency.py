"""Idempotency-Key with Stripe's semantics, on REST POSTs and GraphQL mutations."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tandem.domain.idempotency.records import IdempotentRequest
from tandem.domain.idempotency.service import purge_keys
from tandem.persistence.idempotency.repository import lock_id
from tests.api.assertions import assert_problem
from tests.factories import make_account
from tests.graphql.helpers import codes
from tests.partners.helpers import bearer, make_client
from tests.statements import count_statements

ITEMS = "/api/v1/items"
CREATE_ITEM = """
mutation Create($title: String!) { createItem(input: {title: $title}) { id title version } }
"""


def assert_reused(response) -> None:
    body = assert_problem(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def item_count(services) -> int:
    async with services.database.reader() as uow:
        return int(await uow.connection.raw.fetchval("SELECT count(*) FROM items"))


async def stored_keys(services) -> int:
    async with services.database.reader() as uow:
        return int(await uow.connection.raw.fetchval("SELECT count(*) FROM idempotency_keys"))


async def test_a_replay_returns_the_stored_answer_and_writes_nothing(client, services):
    ada = await make_account(services, client)
    headers = {**ada.headers, **key()}
    first = await client.post(ITEMS, json={"title": "Lamp", "tags": ["a"]}, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    with count_statements(services) as statements:
        again = await client.post(ITEMS, json={"tags": ["a"], "title": "Lamp"}, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert await item_count(services) == 1
    written = [
        s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert written == [], written


async def test_the_same_key_with_another_body_is_refused(client, services):
    ada = await make_account(services, client)
    headers = {**ada.headers, **key()}
    assert (await client.post(ITEMS, json={"title": "Lamp"}, headers=headers)).status_code == 201
    reused = await client.post(ITEMS, json={"title": "Desk"}, headers=headers)
    assert_reused(reused)
    other_route = await client.post(
        "/graphql", json={"query": CREATE_ITEM, "variables": {"title": "Lamp"}}, headers=headers
    )
    assert other_route.status_code == 422
    assert codes(other_route.json()) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await item_count(services) == 1


async def test_keys_belong_to_their_principal(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    shared = key()
    mine = await client.post(ITEMS, json={"title": "Lamp"}, headers={**ada.headers, **shared})
    theirs = await client.post(ITEMS, json={"title": "Lamp"}, headers={**bob.headers, **shared})
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["owner_id"] == bob.id != mine.json()["owner_id"]
    # A partner client acting for ada is a principal of its own, too.
    client_id, secret = await make_client(services, user_id=ada.id)
    token = await client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    partner = await client.post(
        ITEMS, json={"title": "Lamp"}, headers={**bearer(token.json()["access_token"]), **shared}
    )
    assert partner.status_code == 201 and "idempotent-replayed" not in partner.headers
    assert await item_count(services) == 3


async def test_concurrent_duplicates_write_once(client, services):
    ada = await make_account(services, client)
    headers = {**ada.headers, **key()}
    answers = await asyncio.gather(
        *(client.post(ITEMS, json={"title": "Lamp"}, headers=headers) for _ in range(6))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, statuses
    fresh = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(fresh) == 1
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "IDEMPOTENCY_KEY_IN_USE")
        else:
            assert answer.content == fresh[0].content
    assert await item_count(services) == 1


async def test_a_duplicate_while_the_first_is_in_flight_is_409(client, services):
    """The first request is held mid-transaction (its key's lock taken); its twin hears 409."""
    ada = await make_account(services, client)
    headers = {**ada.headers, **key()}
    principal = await services.auth.authenticate(ada.access_token)
    request = IdempotentRequest.of(principal, headers["Idempotency-Key"], b"")
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute("SELECT pg_advisory_xact_lock($1)", lock_id(request))
        twin = await client.post(ITEMS, json={"title": "Lamp"}, headers=headers)
        assert_problem(twin, 409, "IDEMPOTENCY_KEY_IN_USE")
    # Nothing was stored for the 409: once the first is done, the key works.
    assert (await client.post(ITEMS, json={"title": "Lamp"}, headers=headers)).status_code == 201


async def test_failures_are_not_stored_and_the_key_may_be_retried(client, services):
    ada = await make_account(services, client)
    headers = {**ada.headers, **key()}
    invalid = await client.post(ITEMS, json={"title": ""}, headers=headers)
    assert_problem(invalid, 422, "VALIDATION_FAILED")
    assert await stored_keys(services) == 0
    fixed = await client.post(ITEMS, json={"title": "Lamp"}, headers=headers)
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


async def test_the_answer_commits_with_the_write_or_neither_does(client, services):
    """A real fault: storing the answer fails (a trigger refuses it), so the item is not kept."""
    ada = await make_account(services, client)
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute(
            """
            CREATE FUNCTION refuse_key() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'no room for keys'; END $$;
            CREATE TRIGGER refuse_key BEFORE INSERT ON idempotency_keys
            FOR EACH ROW EXECUTE FUNCTION refuse_key();
            """
        )
    try:
        failed = await client.post(ITEMS, json={"title": "Lamp"}, headers={**ada.headers, **key()})
        assert failed.status_code == 500
        assert "Location" not in failed.headers
        assert await item_count(services) == 0
    finally:
        async with services.database.transaction() as uow:
            await uow.connection.raw.execute(
                "DROP TRIGGER refuse_key ON idempotency_keys; DROP FUNCTION refuse_key()"
            )
    stored = await client.post(ITEMS, json={"title": "Lamp"}, headers={**ada.headers, **key()})
    assert stored.status_code == 201
    assert await item_count(services) == 1 and await stored_keys(services) == 1


async def test_a_graphql_mutation_is_replayed(client, services):
    ada = await make_account(services, client)
    headers = {**ada.headers, **key()}
    body = {"query": CREATE_ITEM, "variables": {"title": "Lamp"}, "operationName": "Create"}
    first = await client.post("/graphql", json=body, headers=headers)
    assert first.status_code == 200 and "errors" not in first.json(), first.text
    again = await client.post("/graphql", json=body, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await item_count(services) == 1
    other = await client.post(
        "/graphql", json={**body, "variables": {"title": "Desk"}}, headers=headers
    )
    assert other.status_code == 422 and codes(other.json()) == ["IDEMPOTENCY_KEY_REUSED"]


async def test_a_failed_graphql_mutation_is_not_stored(client, services):
    reader = await make_account(services, client)
    narrow = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "password",
            "username": reader.user.email,
            "password": reader.password,
            "scope": "items:read",
        },
    )
    headers = {**bearer(narrow.json()["access_token"]), **key()}
    body = {"query": CREATE_ITEM, "variables": {"title": "Lamp"}}
    refused = await client.post("/graphql", json=body, headers=headers)
    assert codes(refused.json()) == ["FORBIDDEN"]
    assert await stored_keys(services) == 0


async def test_a_key_on_a_graphql_query_changes_nothing(client, services):
    ada = await make_account(services, client)
    headers = {**ada.headers, **key()}
    body = {"query": "{ items(first: 1) { totalCount } }"}
    for _ in range(2):
        answer = await client.post("/graphql", json=body, headers=headers)
        assert answer.status_code == 200 and "idempotent-replayed" not in answer.headers
    assert await stored_keys(services) == 0


async def test_a_key_on_a_batch_with_a_mutation_is_refused(client, services):
    ada = await make_account(services, client)
    batch = [{"query": CREATE_ITEM, "variables": {"title": "Lamp"}}]
    refused = await client.post("/graphql", json=batch, headers={**ada.headers, **key()})
    assert refused.status_code == 400
    assert await item_count(services) == 0


async def test_a_rotated_secret_is_replayed_not_rotated_twice(client, services):
    admin = await make_account(services, client, role="admin")
    client_id, _secret = await make_client(services, user_id=admin.id)
    async with services.database.reader() as uow:
        pk = await uow.connection.raw.fetchval("SELECT id FROM api_clients")
    headers = {**admin.headers, **key()}
    first = await client.post(f"/api/v1/clients/{pk}/rotate-secret", headers=headers)
    again = await client.post(f"/api/v1/clients/{pk}/rotate-secret", headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["client_secret"] == first.json()["client_secret"]
    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, first.json()["client_secret"]),
    )
    assert token.status_code == 200  # the replayed secret is the one in force


@pytest.mark.parametrize("value", ["", "x" * 256])
async def test_a_key_out_of_bounds_is_refused(client, services, value):
    ada = await make_account(services, client)
    response = await client.post(
        ITEMS, json={"title": "Lamp"}, headers={**ada.headers, "Idempotency-Key": value}
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert await item_count(services) == 0


async def test_token_answers_are_never_stored(client, services):
    ada = await make_account(services, client)
    form = {"grant_type": "password", "username": ada.user.email, "password": ada.password}
    headers = key()
    first = await client.post("/api/v1/auth/token", data=form, headers=headers)
    second = await client.post("/api/v1/auth/token", data=form, headers=headers)
    assert first.json()["access_token"] != second.json()["access_token"]
    assert await stored_keys(services) == 0


async def test_a_stored_answer_holds_no_secret_in_clear(client, services):
    """A new client's secret is in the stored answer (a retry must get it): sealed, not clear."""
    admin = await make_account(services, client, role="admin")
    headers = {**admin.headers, **key()}
    body = {"name": "Acme", "user_id": admin.id, "scopes": ["items:read"]}
    created = await client.post("/api/v1/clients", json=body, headers=headers)
    assert created.status_code == 201
    secret = created.json()["client_secret"]
    async with services.database.reader() as uow:
        rows = await uow.connection.raw.fetch("SELECT * FROM idempotency_keys")
    assert len(rows) == 1
    assert secret.encode() not in bytes(rows[0]["body"])
    assert headers["Idempotency-Key"].encode() not in repr(dict(rows[0])).encode()
    replayed = await client.post("/api/v1/clients", json=body, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["client_secret"] == secret


async def test_keys_are_purged_after_a_day(client, services):
    ada = await make_account(services, client)
    for title in ("Old", "New"):
        await client.post(ITEMS, json={"title": title}, headers={**ada.headers, **key()})
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' "
            "WHERE created_at = (SELECT min(created_at) FROM idempotency_keys)"
        )
    assert await services.idempotency.purge() == 1
    assert await stored_keys(services) == 1
    # What `tandem worker` runs, on the plain database: nothing more is old enough.
    assert await purge_keys(services.database) == 0
    assert await stored_keys(services) == 1
