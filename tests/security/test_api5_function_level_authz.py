"""API5 Broken function level authorization: every admin route and field, and every scope.

Each administrative function is tried anonymously (401), as a member (403), and as an
administrator whose token lacks the scope it needs (403); an administrator with a full
token is the control. Then every function is tried with a token lacking its scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tandem.domain import global_ids
from tandem.domain.principal import ITEMS_READ, ITEMS_WRITE, LOGIN_SCOPES, USERS_READ, USERS_WRITE
from tests.factories import Account, make_account, make_item
from tests.security.helpers import bearer, codes, forge, graphql


def without(settings, account: Account, scope: str) -> dict[str, str]:
    """Headers with a token of `account` carrying every scope but `scope`."""
    return bearer(forge(settings, account, scope=" ".join(sorted(LOGIN_SCOPES - {scope}))))


@dataclass
class Target:
    admin: Account
    member: Account
    victim: Account


@pytest.fixture
async def target(client, services) -> Target:
    admin = await make_account(services, client, role="admin")
    member = await make_account(services, client)
    victim = await make_account(services, client)
    return Target(admin, member, victim)


AdminCall = Callable[[httpx.AsyncClient, Target, dict[str, str]], Awaitable[httpx.Response]]

ADMIN_ROUTES: dict[str, tuple[str, AdminCall]] = {
    "GET /users": (USERS_READ, lambda c, t, h: c.get("/api/v1/users", headers=h)),
    "PATCH /users/{id} role": (
        USERS_WRITE,
        lambda c, t, h: c.patch(f"/api/v1/users/{t.victim.id}", json={"role": "admin"}, headers=h),
    ),
    "PATCH /users/{id} is_active": (
        USERS_WRITE,
        lambda c, t, h: c.patch(
            f"/api/v1/users/{t.victim.id}", json={"is_active": False}, headers=h
        ),
    ),
    "DELETE /users/{id}": (
        USERS_WRITE,
        lambda c, t, h: c.delete(f"/api/v1/users/{t.victim.id}", headers=h),
    ),
}


async def victim_is_intact(client: httpx.AsyncClient, target: Target) -> bool:
    response = await client.get("/api/v1/users/me", headers=target.victim.headers)
    return response.status_code == 200 and response.json()["role"] == "member"


@pytest.mark.parametrize("route", list(ADMIN_ROUTES))
async def test_an_admin_route_refuses_anonymous_callers(client, target, route):
    _, call = ADMIN_ROUTES[route]
    response = await call(client, target, {})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert await victim_is_intact(client, target)


@pytest.mark.parametrize("route", list(ADMIN_ROUTES))
async def test_an_admin_route_refuses_members(client, target, route):
    _, call = ADMIN_ROUTES[route]
    response = await call(client, target, target.member.headers)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert await victim_is_intact(client, target)


@pytest.mark.parametrize("route", list(ADMIN_ROUTES))
async def test_an_admin_route_refuses_an_admins_token_without_its_scope(
    client, target, settings, route
):
    scope, call = ADMIN_ROUTES[route]
    response = await call(client, target, without(settings, target.admin, scope))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert await victim_is_intact(client, target)


@pytest.mark.parametrize("route", list(ADMIN_ROUTES))
async def test_an_admin_route_serves_an_admin(client, target, route):
    # The control for the three refusals above.
    _, call = ADMIN_ROUTES[route]
    response = await call(client, target, target.admin.headers)
    assert response.status_code in (200, 204), response.text


async def test_a_member_cannot_promote_themself(client, target):
    url = f"/api/v1/users/{target.member.id}"
    response = await client.patch(url, json={"role": "admin"}, headers=target.member.headers)
    assert response.status_code == 403
    listed = await client.get("/api/v1/users", headers=target.member.headers)
    assert listed.status_code == 403


async def test_a_role_claim_slipped_into_a_signed_token_is_ignored(client, target, settings):
    # Even with the signing key, a token cannot make its bearer an admin: the role is the
    # account's, read on every request.
    token = forge(settings, target.member, role="admin", scope=" ".join(sorted(LOGIN_SCOPES)))
    assert (await client.get("/api/v1/users", headers=bearer(token))).status_code == 403
    body = (await graphql(client, "{ users { totalCount } }", headers=bearer(token))).json()
    assert codes(body) == ["FORBIDDEN"]


USERS_QUERY = "{ users(first: 5) { totalCount nodes { email } } }"


async def test_the_users_field_is_for_admins_only(client, target, settings):
    anonymous = (await graphql(client, USERS_QUERY)).json()
    member = (await graphql(client, USERS_QUERY, headers=target.member.headers)).json()
    scopeless = (
        await graphql(client, USERS_QUERY, headers=without(settings, target.admin, USERS_READ))
    ).json()
    admin = (await graphql(client, USERS_QUERY, headers=target.admin.headers)).json()
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert codes(member) == ["FORBIDDEN"]
    assert codes(scopeless) == ["FORBIDDEN"]
    for refused in (anonymous, member, scopeless):
        assert refused["data"] is None
    assert admin["data"]["users"]["totalCount"] == 3


# --- Every function and the scope it needs ------------------------------------------------------

Call = Callable[[httpx.AsyncClient, dict[str, Any], dict[str, str]], Awaitable[httpx.Response]]


def gql_call(query: str, variables: Callable[[dict[str, Any]], dict[str, Any]] | None = None):
    def call(client: httpx.AsyncClient, world: dict[str, Any], headers: dict[str, str]):
        return graphql(client, query, variables(world) if variables else None, headers=headers)

    return call


SCOPED: dict[str, tuple[str, Call]] = {
    "REST GET /items": (ITEMS_READ, lambda c, w, h: c.get("/api/v1/items", headers=h)),
    "REST GET /items/{id}": (
        ITEMS_READ,
        lambda c, w, h: c.get(f"/api/v1/items/{w['item']['id']}", headers=h),
    ),
    "REST POST /items": (
        ITEMS_WRITE,
        lambda c, w, h: c.post("/api/v1/items", json={"title": "t"}, headers=h),
    ),
    "REST PATCH /items/{id}": (
        ITEMS_WRITE,
        lambda c, w, h: c.patch(f"/api/v1/items/{w['item']['id']}", json={"title": "u"}, headers=h),
    ),
    "REST DELETE /items/{id}": (
        ITEMS_WRITE,
        lambda c, w, h: c.delete(f"/api/v1/items/{w['item']['id']}", headers=h),
    ),
    "REST GET /users/{other}": (
        USERS_READ,
        lambda c, w, h: c.get(f"/api/v1/users/{w['other']}", headers=h),
    ),
    "REST PATCH /users/me": (
        USERS_WRITE,
        lambda c, w, h: c.patch("/api/v1/users/me", json={"name": "n"}, headers=h),
    ),
    "REST DELETE /users/me": (
        USERS_WRITE,
        lambda c, w, h: c.delete("/api/v1/users/me", headers=h),
    ),
    "GraphQL items": (ITEMS_READ, gql_call("{ items { totalCount } }")),
    "GraphQL item": (
        ITEMS_READ,
        gql_call(
            "query($id: ID!) { item(id: $id) { id } }", lambda w: {"id": w["item"]["node_id"]}
        ),
    ),
    "GraphQL user.items": (
        ITEMS_READ,
        # Through an item's owner, which needs only items:read (`me` needs users:read).
        gql_call(
            "query($id: ID!) { item(id: $id) { owner { items { totalCount } } } }",
            lambda w: {"id": w["item"]["node_id"]},
        ),
    ),
    "GraphQL createItem": (
        ITEMS_WRITE,
        gql_call('mutation { createItem(input: {title: "t"}) { id } }'),
    ),
    "GraphQL updateItem": (
        ITEMS_WRITE,
        gql_call(
            'mutation($id: ID!) { updateItem(id: $id, input: {title: "u"}) { id } }',
            lambda w: {"id": w["item"]["node_id"]},
        ),
    ),
    "GraphQL deleteItem": (
        ITEMS_WRITE,
        gql_call(
            "mutation($id: ID!) { deleteItem(id: $id) }", lambda w: {"id": w["item"]["node_id"]}
        ),
    ),
    "GraphQL user(other)": (
        USERS_READ,
        gql_call(
            "query($id: ID!) { user(id: $id) { name } }",
            lambda w: {"id": global_ids.encode("User", w["other"])},
        ),
    ),
    "GraphQL updateMe": (
        USERS_WRITE,
        gql_call('mutation { updateMe(input: {name: "n"}) { name } }'),
    ),
}


def refused(response: httpx.Response) -> bool:
    if response.url.path == "/graphql":
        return codes(response.json()) == ["FORBIDDEN"]
    return response.status_code == 403 and response.json()["code"] == "FORBIDDEN"


def served(response: httpx.Response) -> bool:
    if response.url.path == "/graphql":
        return response.status_code == 200 and codes(response.json()) == []
    return response.status_code in (200, 201, 204)


@pytest.mark.parametrize("function", list(SCOPED))
async def test_a_token_lacking_the_scope_a_function_needs_is_refused(
    client, services, settings, function
):
    scope, call = SCOPED[function]
    ada = await make_account(services, client)
    other = await make_account(services, client)
    world = {"item": await make_item(client, ada), "other": other.id}

    assert refused(await call(client, world, without(settings, ada, scope)))
    # The item and the account are still there, unchanged, for the control call below.
    item = await client.get(f"/api/v1/items/{world['item']['id']}", headers=ada.headers)
    assert item.status_code == 200 and item.json()["revision"] == 1
    only_that = bearer(forge(settings, ada, scope=scope))
    assert served(await call(client, world, only_that))


async def test_node_honours_users_read_like_user_does(client, services, settings):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    items_only = bearer(forge(settings, bob, scope=f"{ITEMS_READ} {ITEMS_WRITE}"))
    query = "query($id: ID!) { user(id: $id) { name } node(id: $id) { ... on User { name } } }"
    variables = {"id": global_ids.encode("User", ada.id)}
    body = (await graphql(client, query, variables, headers=items_only)).json()
    assert codes(body) == ["FORBIDDEN"]  # user(id:) refuses, as REST's GET /users/{id} does
    assert body["data"]["node"] is None
