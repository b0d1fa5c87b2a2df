"""`/clients` and `tandem create-client`: created by administrators, secrets shown once."""

from __future__ import annotations

import pytest

from tests.api.assertions import assert_problem, assert_unauthenticated, error_locs
from tests.api.test_auth import assert_oauth_error
from tests.factories import make_account, make_user
from tests.partners.helpers import TOKEN, bearer, make_client
from tests.test_cli import run_tandem

CLIENTS = "/api/v1/clients"
CLIENT_KEYS = {"id", "name", "user_id", "scopes", "client_id", "created_at", "api_version"}


async def create(client, admin, **fields):
    body = {"name": "Acme sync", "scopes": ["items:read", "items:write"], **fields}
    return await client.post(CLIENTS, json=body, headers=admin.headers)


async def client_token(client, client_id, secret):
    return await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


async def test_an_admin_creates_a_client_whose_secret_is_shown_once(client, services):
    admin = await make_account(services, client, role="admin")
    owner = await make_user(services)
    response = await create(client, admin, user_id=owner.id)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == CLIENT_KEYS | {"client_secret"}
    assert body["user_id"] == owner.id
    assert body["scopes"] == ["items:read", "items:write"]
    listed = await client.get(CLIENTS, headers=admin.headers)
    assert listed.status_code == 200
    assert [set(c) for c in listed.json()] == [CLIENT_KEYS]
    assert body["client_secret"] not in listed.text
    # Stored hashed: the database holds no copy of the secret.
    async with services.database.reader() as uow:
        rows = await uow.connection.raw.fetch("SELECT * FROM api_clients")
    assert body["client_secret"] not in repr([dict(row) for row in rows])
    token = await client_token(client, body["client_id"], body["client_secret"])
    assert token.status_code == 200, token.text


async def test_rotating_the_secret_ends_the_old_secret_and_its_tokens(client, services):
    admin = await make_account(services, client, role="admin")
    owner = await make_user(services)
    created = (await create(client, admin, user_id=owner.id)).json()
    old_token = (await client_token(client, created["client_id"], created["client_secret"])).json()
    assert (
        await client.get("/api/v1/items", headers=bearer(old_token["access_token"]))
    ).status_code == 200

    rotated = await client.post(f"{CLIENTS}/{created['id']}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != created["client_secret"]
    assert rotated.json()["client_id"] == created["client_id"]

    stale = await client_token(client, created["client_id"], created["client_secret"])
    assert_oauth_error(stale, "invalid_client", status=401)
    assert_unauthenticated(
        await client.get("/api/v1/items", headers=bearer(old_token["access_token"])),
        bad_token=True,
    )
    fresh = (await client_token(client, created["client_id"], new_secret)).json()
    assert (
        await client.get("/api/v1/items", headers=bearer(fresh["access_token"]))
    ).status_code == 200


async def test_deleting_a_client_revokes_it_and_its_tokens(client, services):
    admin = await make_account(services, client, role="admin")
    owner = await make_user(services)
    created = (await create(client, admin, user_id=owner.id)).json()
    token = (await client_token(client, created["client_id"], created["client_secret"])).json()
    deleted = await client.delete(f"{CLIENTS}/{created['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert_unauthenticated(
        await client.get("/api/v1/items", headers=bearer(token["access_token"])), bad_token=True
    )
    again = await client_token(client, created["client_id"], created["client_secret"])
    assert_oauth_error(again, "invalid_client", status=401)
    assert_problem(
        await client.delete(f"{CLIENTS}/{created['id']}", headers=admin.headers), 404, "NOT_FOUND"
    )
    assert (await client.get(CLIENTS, headers=admin.headers)).json() == []


async def test_only_administrators_manage_clients(client, services):
    member = await make_account(services, client)
    assert_problem(await create(client, member, user_id=member.id), 403, "FORBIDDEN")
    assert_problem(await client.get(CLIENTS, headers=member.headers), 403, "FORBIDDEN")
    assert_problem(
        await client.post(f"{CLIENTS}/1/rotate-secret", headers=member.headers), 403, "FORBIDDEN"
    )
    assert_problem(await client.delete(f"{CLIENTS}/1", headers=member.headers), 403, "FORBIDDEN")
    assert_unauthenticated(await client.get(CLIENTS), bad_token=False)


async def test_a_clients_token_cannot_manage_clients_even_for_an_admin(client, services):
    admin = await make_account(services, client, role="admin")
    client_id, secret = await make_client(
        services, user_id=admin.id, scopes="items:read users:read users:write"
    )
    token = (await client_token(client, client_id, secret)).json()
    response = await client.post(
        CLIENTS,
        json={"name": "Escalate", "user_id": admin.id, "scopes": ["users:write"]},
        headers=bearer(token["access_token"]),
    )
    assert_problem(response, 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"scopes": ["bogus:scope"]}, ("body", "scopes", 0)),
        ({"scopes": []}, ("body", "scopes")),
        ({"name": ""}, ("body", "name")),
        ({"user_id": 999999}, ("body", "user_id")),
    ],
)
async def test_a_bad_client_is_refused_with_the_field_named(client, services, fields, loc):
    admin = await make_account(services, client, role="admin")
    response = await create(client, admin, **{"user_id": admin.id, **fields})
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert loc in error_locs(response)


def test_tandem_create_client_prints_the_secret_once(tmp_path, database_url):
    created = run_tandem(
        "create-user",
        "--email",
        "owner@example.com",
        "--name",
        "Owner",
        "--password",
        "correct horse battery staple",
        cwd=tmp_path,
        DATABASE_URL=database_url,
    )
    assert created.returncode == 0, created.stderr
    user_id = created.stdout.split("(id ")[1].split(")")[0]
    result = run_tandem(
        "create-client",
        "--name",
        "Acme",
        "--user-id",
        user_id,
        "--scopes",
        "items:read",
        cwd=tmp_path,
        DATABASE_URL=database_url,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(
        line.split(":", 1) for line in result.stdout.splitlines() if line.startswith("client_")
    )
    assert lines["client_id"].strip().startswith("tc_")
    assert lines["client_secret"].strip().startswith("tcs_")
    refused = run_tandem(
        "create-client",
        "--name",
        "Acme",
        "--user-id",
        user_id,
        "--scopes",
        "bogus",
        cwd=tmp_path,
        DATABASE_URL=database_url,
    )
    assert refused.returncode != 0 and "scopes: must be one of:" in refused.stderr
