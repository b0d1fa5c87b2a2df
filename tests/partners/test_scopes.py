"""Every REST route and every GraphQL root field needs its scope, on both faces, for every grant.

The tables name every route and root field there is: a new one without a row fails
`test_every_*_has_a_row`, so no operation ships without saying which scope it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tandem.domain import global_ids
from tests.factories import make_account, make_item, make_user
from tests.graphql.helpers import codes
from tests.partners.helpers import TOKEN, bearer, make_client

ALL = frozenset(
    {"items:read", "items:write", "users:read", "users:write", "webhooks:read", "webhooks:write"}
)
PUBLIC = None  # needs no scope (and no sign-in)


@dataclass(frozen=True)
class Rest:
    method: str
    path: str
    scope: str | None
    body: dict[str, Any] | None = None


REST = [
    Rest("GET", "/api/v1/items", "items:read"),
    Rest("POST", "/api/v1/items", "items:write", {"title": "New"}),
    Rest("GET", "/api/v1/items/{item_id}", "items:read"),
    Rest("PATCH", "/api/v1/items/{item_id}", "items:write", {"title": "Renamed"}),
    Rest("DELETE", "/api/v1/items/{item_id}", "items:write"),
    Rest("GET", "/api/v1/users/me", "users:read"),
    Rest("PATCH", "/api/v1/users/me", "users:write", {"name": "Renamed"}),
    Rest("DELETE", "/api/v1/users/me", "users:write"),
    Rest("GET", "/api/v1/users", "users:read"),
    Rest("GET", "/api/v1/users/{user_id}", "users:read"),
    Rest("PATCH", "/api/v1/users/{user_id}", "users:write", {"name": "Renamed"}),
    Rest("DELETE", "/api/v1/users/{user_id}", "users:write"),
    Rest("POST", "/api/v1/clients", "users:write", {"name": "C", "scopes": ["items:read"]}),
    Rest("GET", "/api/v1/clients", "users:read"),
    Rest("PATCH", "/api/v1/clients/{client_id}", "users:write", {"api_version": "2026-12-07"}),
    Rest("POST", "/api/v1/clients/{client_id}/rotate-secret", "users:write"),
    Rest("DELETE", "/api/v1/clients/{client_id}", "users:write"),
    Rest("GET", "/api/v1/events", "items:read"),
    Rest("GET", "/api/v1/events/{event_id}", "items:read"),
    Rest("GET", "/api/v1/requests", "users:read"),
    Rest(
        "POST",
        "/api/v1/webhooks",
        "webhooks:write",
        {"url": "http://127.0.0.1:9/b", "events": ["*"]},
    ),
    Rest("GET", "/api/v1/webhooks", "webhooks:read"),
    Rest("GET", "/api/v1/webhooks/{webhook_id}", "webhooks:read"),
    Rest("PATCH", "/api/v1/webhooks/{webhook_id}", "webhooks:write", {"active": False}),
    Rest("DELETE", "/api/v1/webhooks/{webhook_id}", "webhooks:write"),
    Rest("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret", "webhooks:write"),
    Rest("GET", "/api/v1/webhooks/{webhook_id}/deliveries", "webhooks:read"),
    Rest(
        "POST",
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        "webhooks:write",
    ),
    Rest("POST", "/api/v1/webhooks/{webhook_id}/ping", "webhooks:write"),
    Rest(
        "POST",
        "/api/v1/webhooks/{webhook_id}/replay",
        "webhooks:write",
        {"since": "2026-01-01T00:00:00Z"},
    ),
    Rest("POST", "/api/v1/auth/register", PUBLIC),
    Rest("POST", "/api/v1/auth/token", PUBLIC),
    Rest("POST", "/api/v1/auth/revoke", PUBLIC),
    Rest("POST", "/api/v1/auth/password-recovery", PUBLIC),
    Rest("POST", "/api/v1/auth/reset-password", PUBLIC),
    Rest("GET", "/healthz", PUBLIC),
    Rest("GET", "/readyz", PUBLIC),
    Rest("HEAD", "/healthz", PUBLIC),
    Rest("HEAD", "/readyz", PUBLIC),
]


@dataclass(frozen=True)
class Field:
    name: str
    scope: str
    document: str
    refused: str = "FORBIDDEN"  # what a token without the scope hears: FORBIDDEN, or "null"


GRAPHQL = [
    Field("me", "users:read", "{ me { id } }"),
    Field("user", "users:read", '{ user(id: "$user") { id } }'),
    Field("users", "users:read", "{ users(first: 1) { totalCount } }"),
    Field("item", "items:read", '{ item(id: "$item") { id } }'),
    Field("items", "items:read", "{ items(first: 1) { totalCount } }"),
    Field("node", "items:read", '{ node(id: "$item") { id } }'),
    Field("node", "users:read", '{ node(id: "$user") { id } }', refused="null"),
    Field("nodes", "items:read", '{ nodes(ids: ["$item"]) { id } }'),
    Field("createItem", "items:write", 'mutation { createItem(input: {title: "New"}) { id } }'),
    Field(
        "updateItem",
        "items:write",
        'mutation { updateItem(id: "$item", input: {title: "Renamed"}) { id } }',
    ),
    Field("deleteItem", "items:write", 'mutation { deleteItem(id: "$item") }'),
    Field("updateMe", "users:write", 'mutation { updateMe(input: {name: "Renamed"}) { id } }'),
]

# Root fields that need no scope and no sign-in (password recovery).
PUBLIC_GRAPHQL = {"requestPasswordReset", "resetPassword"}


def test_every_rest_route_has_a_row(app):
    # The OpenAPI document lists every REST route (FastAPI includes routers lazily, so
    # `app.routes` does not).
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert len(routes) > 20
    listed = {(row.method, row.path) for row in REST}
    assert routes <= listed, f"routes without a scope row: {sorted(routes - listed)}"


async def test_every_graphql_root_field_has_a_row(client):
    query = "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }"
    schema = (await client.post("/graphql", json={"query": query})).json()["data"]["__schema"]
    fields = {f["name"] for kind in ("queryType", "mutationType") for f in schema[kind]["fields"]}
    assert len(fields) >= 10
    listed = {row.name for row in GRAPHQL} | PUBLIC_GRAPHQL
    assert fields <= listed, sorted(fields - listed)


@dataclass
class World:
    admin_id: int
    item_id: int
    user_id: int
    client_pk: int
    event_id: str
    webhook_id: str
    delivery_id: str

    def fill(self, text: str) -> str:
        return (
            text.replace("{item_id}", str(self.item_id))
            .replace("{user_id}", str(self.user_id))
            .replace("{client_id}", str(self.client_pk))
            .replace("{event_id}", self.event_id)
            .replace("{webhook_id}", self.webhook_id)
            .replace("{delivery_id}", self.delivery_id)
            .replace("$item", global_ids.encode("Item", self.item_id))
            .replace("$user", global_ids.encode("User", self.user_id))
        )


async def world(client, services) -> tuple[World, Any]:
    admin = await make_account(services, client, role="admin")
    await make_account(services, client, role="admin")  # so any admin may be changed or deleted
    hook = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["*"]},
        headers=admin.headers,
    )
    assert hook.status_code == 201, hook.text
    item = await make_item(client, admin)  # an event, and a delivery of it to the hook
    other = await make_user(services)
    await make_client(services, user_id=other.id)
    async with services.database.reader() as uow:
        raw = uow.connection.raw
        client_pk = await raw.fetchval("SELECT id FROM api_clients")
        delivery_id = await raw.fetchval("SELECT id FROM webhook_deliveries LIMIT 1")
        # The item's event, from its table: GET /events lists an event only once every
        # transaction older than its own has ended, anywhere in the cluster (the outbox's
        # horizon), so on a busy database it may not list it yet; GET /events/{id} shows it.
        event_id = await raw.fetchval("SELECT public_id FROM events")
    assert event_id is not None
    ids = (str(event_id), str(hook.json()["id"]), str(delivery_id))
    return World(admin.id, item["id"], other.id, client_pk, *ids), admin


async def password_token(client, account, scopes: frozenset[str]) -> str:
    form = {
        "grant_type": "password",
        "username": account.user.email,
        "password": account.password,
        "scope": " ".join(sorted(scopes)),
    }
    response = await client.post(TOKEN, data=form)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == " ".join(sorted(scopes))
    token: str = response.json()["access_token"]
    return token


async def client_token(client, services, account, scopes: frozenset[str]) -> str:
    client_id, secret = await make_client(
        services, user_id=account.id, scopes=" ".join(sorted(scopes))
    )
    form = {"grant_type": "client_credentials"}
    response = await client.post(TOKEN, data=form, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def refreshed_token(client, account, scopes: frozenset[str]) -> str:
    """A full sign-in, narrowed at refresh time: the refresh grant's `scope`."""
    login = await client.post(
        TOKEN,
        data={
            "grant_type": "password",
            "username": account.user.email,
            "password": account.password,
        },
    )
    response = await client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": login.json()["refresh_token"],
            "scope": " ".join(sorted(scopes)),
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


GRANTS = ["password", "refresh_token", "client_credentials"]


async def token_for(grant, client, services, account, scopes):
    if grant == "password":
        return await password_token(client, account, scopes)
    if grant == "refresh_token":
        return await refreshed_token(client, account, scopes)
    return await client_token(client, services, account, scopes)


SCOPED_REST = [row for row in REST if row.scope is not None]


@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.parametrize("row", SCOPED_REST, ids=lambda r: f"{r.method} {r.path}")
async def test_a_rest_route_refuses_a_token_without_its_scope(client, services, row, grant):
    here, admin = await world(client, services)
    token = await token_for(grant, client, services, admin, ALL - {row.scope})
    body = row.body
    if row.path == "/api/v1/clients" and body is not None:
        body = {**body, "user_id": here.user_id}
    response = await client.request(
        row.method, here.fill(row.path), json=body, headers=bearer(token)
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert row.scope in response.json()["detail"]


@pytest.mark.parametrize("row", SCOPED_REST, ids=lambda r: f"{r.method} {r.path}")
async def test_a_rest_route_needs_no_more_than_its_scope(client, services, row):
    here, admin = await world(client, services)
    token = await password_token(client, admin, frozenset({row.scope}))
    body = row.body
    if row.path == "/api/v1/clients" and body is not None:
        body = {**body, "user_id": here.user_id}
    response = await client.request(
        row.method, here.fill(row.path), json=body, headers=bearer(token)
    )
    assert response.status_code < 400, response.text


@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.parametrize("row", GRAPHQL, ids=lambda r: f"{r.name}:{r.scope}")
async def test_a_graphql_field_refuses_a_token_without_its_scope(client, services, row, grant):
    here, admin = await world(client, services)
    token = await token_for(grant, client, services, admin, ALL - {row.scope})
    answer = await client.post(
        "/graphql", json={"query": here.fill(row.document)}, headers=bearer(token)
    )
    body = answer.json()
    if row.refused == "null":
        assert body["data"][row.name] is None and "errors" not in body, body
    else:
        assert codes(body) == ["FORBIDDEN"], body


@pytest.mark.parametrize("row", GRAPHQL, ids=lambda r: f"{r.name}:{r.scope}")
async def test_a_graphql_field_needs_no_more_than_its_scope(client, services, row):
    here, admin = await world(client, services)
    token = await password_token(client, admin, frozenset({row.scope}))
    answer = await client.post(
        "/graphql", json={"query": here.fill(row.document)}, headers=bearer(token)
    )
    body = answer.json()
    assert "errors" not in body, body
    assert body["data"][row.name] is not None
