"""The parity suite: each operation through REST and through GraphQL, as the same principal.

Both faces call the same domain use cases, so they must agree on the data and on
the error: what REST answers 404, GraphQL answers null with NOT_FOUND, and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tandem.domain import global_ids
from tests.conftest import empty_tables
from tests.factories import make_account, make_item
from tests.graphql.helpers import codes, gql

REST_TO_GRAPHQL = {
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    422: "BAD_USER_INPUT",
}
ITEM_FIELDS = "id databaseId title description price tags status version owner { databaseId }"


@dataclass
class World:
    owner: Any
    other: Any
    admin: Any
    published: dict[str, Any]
    draft: dict[str, Any]
    tagged: dict[str, Any]


@dataclass
class Case:
    name: str
    as_: str  # owner, other, admin or anonymous
    rest: Callable[[World], tuple[str, str, dict[str, Any]]]  # method, path, request kwargs
    graphql: Callable[[World], tuple[str, dict[str, Any]]]  # query, variables
    status: int = 200
    same: Callable[[Any, Any], None] | None = field(default=None)  # compares REST and GraphQL data


def _item_matches(rest: dict[str, Any], graphql: dict[str, Any]) -> None:
    assert graphql["id"] == rest["node_id"]
    assert graphql["databaseId"] == rest["id"]
    assert graphql["owner"]["databaseId"] == rest["owner_id"]
    assert graphql["status"] == rest["status"].upper()
    for name in ("title", "description", "price", "tags"):
        assert graphql[name] == rest[name], name
    assert graphql["version"] == rest["revision"]  # REST's name since API 2026-12-07


def _first(key: str) -> Callable[[Any, Any], None]:
    def check(rest: Any, graphql: Any) -> None:
        _item_matches(rest, graphql[key])

    return check


def _same_list(rest: Any, graphql: Any) -> None:
    assert [i["node_id"] for i in rest["items"]] == [n["id"] for n in graphql["items"]["nodes"]]
    assert rest["total"] == graphql["items"]["totalCount"]


def _item_query(world_key: str) -> Callable[[World], tuple[str, dict[str, Any]]]:
    def build(world: World) -> tuple[str, dict[str, Any]]:
        item = getattr(world, world_key)
        return f"query($id: ID!) {{ item(id: $id) {{ {ITEM_FIELDS} }} }}", {"id": item["node_id"]}

    return build


def _update(world_key: str, changes: dict[str, Any], *, version: int | None = None):
    def rest(world: World) -> tuple[str, str, dict[str, Any]]:
        item = getattr(world, world_key)
        headers = {} if version is None else {"If-Match": f'"item-{item["id"]}-v{version}"'}
        return "PATCH", f"/api/v1/items/{item['id']}", {"json": changes, "headers": headers}

    def graphql(world: World) -> tuple[str, dict[str, Any]]:
        item = getattr(world, world_key)
        query = (
            "mutation($id: ID!, $input: UpdateItemInput!, $v: Int) {"
            f" updateItem(id: $id, input: $input, expectedVersion: $v) {{ {ITEM_FIELDS} }} }}"
        )
        return query, {"id": item["node_id"], "input": changes, "v": version}

    return rest, graphql


def _delete(world_key: str):
    def rest(world: World) -> tuple[str, str, dict[str, Any]]:
        return "DELETE", f"/api/v1/items/{getattr(world, world_key)['id']}", {}

    def graphql(world: World) -> tuple[str, dict[str, Any]]:
        return "mutation($id: ID!) { deleteItem(id: $id) }", {
            "id": getattr(world, world_key)["node_id"]
        }

    return rest, graphql


def _create(body: dict[str, Any]):
    def rest(world: World) -> tuple[str, str, dict[str, Any]]:
        return "POST", "/api/v1/items", {"json": body}

    def graphql(world: World) -> tuple[str, dict[str, Any]]:
        query = f"mutation($input: CreateItemInput!) {{ createItem(input: $input) {{ {ITEM_FIELDS} }} }}"
        return query, {
            "input": {**body, **({"status": body["status"].upper()} if "status" in body else {})}
        }

    return rest, graphql


def _list(params: dict[str, Any], filter_: dict[str, Any], order: str = "CREATED_AT_DESC"):
    def rest(world: World) -> tuple[str, str, dict[str, Any]]:
        return "GET", "/api/v1/items", {"params": {"size": 100, **params}}

    def graphql(world: World) -> tuple[str, dict[str, Any]]:
        query = (
            "query($f: ItemFilter, $o: ItemOrder) {"
            " items(first: 100, filter: $f, orderBy: $o) { totalCount nodes { id } } }"
        )
        return query, {"f": filter_, "o": order}

    return rest, graphql


def _user(world_key: str):
    def rest(world: World) -> tuple[str, str, dict[str, Any]]:
        return "GET", f"/api/v1/users/{getattr(world, world_key).id}", {}

    def graphql(world: World) -> tuple[str, dict[str, Any]]:
        user_id = global_ids.encode("User", getattr(world, world_key).id)
        return "query($id: ID!) { user(id: $id) { id databaseId name email } }", {"id": user_id}

    return rest, graphql


def _same_user(rest: Any, graphql: Any) -> None:
    user = graphql["user"]
    assert (user["id"], user["databaseId"], user["name"]) == (
        rest["node_id"],
        rest["id"],
        rest["name"],
    )
    assert user["email"] == rest.get("email")  # null exactly when REST shows the public view


CASES = [
    Case(
        "read a published item",
        "other",
        lambda w: ("GET", f"/api/v1/items/{w.published['id']}", {}),
        _item_query("published"),
        same=_first("item"),
    ),
    Case(
        "read your own draft",
        "owner",
        lambda w: ("GET", f"/api/v1/items/{w.draft['id']}", {}),
        _item_query("draft"),
        same=_first("item"),
    ),
    Case(
        "read another's draft",
        "other",
        lambda w: ("GET", f"/api/v1/items/{w.draft['id']}", {}),
        _item_query("draft"),
        status=404,
    ),
    Case(
        "an admin reads a draft",
        "admin",
        lambda w: ("GET", f"/api/v1/items/{w.draft['id']}", {}),
        _item_query("draft"),
        same=_first("item"),
    ),
    Case(
        "read anonymously",
        "anonymous",
        lambda w: ("GET", f"/api/v1/items/{w.published['id']}", {}),
        _item_query("published"),
        status=401,
    ),
    Case(
        "list with a tag filter", "other", *_list({"tag": "red"}, {"tag": "red"}), same=_same_list
    ),
    Case(
        "list drafts as another user",
        "other",
        *_list({"status": "draft"}, {"status": "DRAFT"}),
        same=_same_list,
    ),
    Case(
        "list drafts as the owner",
        "owner",
        *_list({"status": "draft"}, {"status": "DRAFT"}),
        same=_same_list,
    ),
    Case("list searching by word", "owner", *_list({"q": "lamp"}, {"q": "lamp"}), same=_same_list),
    Case("list by price", "admin", *_list({"sort": "price"}, {}, "PRICE_ASC"), same=_same_list),
    Case(
        "create an item",
        "other",
        *_create({"title": "Kettle", "price": "12.50", "tags": ["k"], "status": "draft"}),
        status=201,
        same=_first("createItem"),
    ),
    Case(
        "update your own item",
        "owner",
        *_update("published", {"title": "Renamed"}),
        same=_first("updateItem"),
    ),
    Case(
        "update another's item", "other", *_update("published", {"title": "Mine now"}), status=403
    ),
    Case("update another's draft", "other", *_update("draft", {"title": "Seen?"}), status=404),
    Case(
        "an admin updates any item",
        "admin",
        *_update("draft", {"price": "3.00"}),
        same=_first("updateItem"),
    ),
    Case(
        "update with a stale version",
        "owner",
        *_update("published", {"title": "Late"}, version=7),
        status=412,
    ),
    Case(
        "update with the current version",
        "owner",
        *_update("published", {"title": "On time"}, version=1),
        same=_first("updateItem"),
    ),
    Case(
        "invalid input: a title too long",
        "owner",
        *_update("published", {"title": "x" * 201}),
        status=422,
    ),
    Case(
        "invalid input: a price with 3 decimals",
        "owner",
        *_create({"title": "T", "price": "1.999"}),
        status=422,
    ),
    Case(
        "invalid input: 21 tags",
        "owner",
        *_create({"title": "T", "tags": [str(n) for n in range(21)]}),
        status=422,
    ),
    Case("delete another's item", "other", *_delete("published"), status=403),
    Case("delete another's draft", "other", *_delete("draft"), status=404),
    Case("read another user", "other", *_user("owner"), same=_same_user),
    Case("an admin reads a user", "admin", *_user("owner"), same=_same_user),
    Case("read yourself", "owner", *_user("owner"), same=_same_user),
]


async def build_world(client, services) -> World:
    """The same users and items every time, so two builds differ in nothing the faces show."""
    owner = await make_account(services, client, email="owner@example.com", name="Owner")
    other = await make_account(services, client, email="other@example.com", name="Other")
    admin = await make_account(
        services, client, role="admin", email="admin@example.com", name="Admin"
    )
    published = await make_item(client, owner, title="Desk lamp", price="19.99", tags=["red"])
    draft = await make_item(client, owner, title="Secret lamp", status="draft")
    tagged = await make_item(client, other, title="Red chair", tags=["red", "wood"])
    return World(owner, other, admin, published, draft, tagged)


def _headers(world: World, who: str) -> dict[str, str]:
    return {} if who == "anonymous" else getattr(world, who).headers


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_rest_and_graphql_agree(case: Case, client, services):
    # REST first; then the world is rebuilt from scratch so GraphQL sees the same state.
    world = await build_world(client, services)
    method, path, kwargs = case.rest(world)
    headers = {**_headers(world, case.as_), **kwargs.pop("headers", {})}
    rest = await client.request(method, path, headers=headers, **kwargs)
    assert rest.status_code == case.status, rest.text
    rest_data = rest.json() if rest.content else None

    await _reset(services)
    fresh = await build_world(client, services)
    query, variables = case.graphql(fresh)
    body = await gql(client, query, variables, headers=_headers(fresh, case.as_))

    if case.status >= 400:
        assert codes(body) == [REST_TO_GRAPHQL[case.status]], body
        assert rest.json()["code"] == {"BAD_USER_INPUT": "VALIDATION_FAILED"}.get(
            codes(body)[0], codes(body)[0]
        )
    else:
        assert "errors" not in body, body
        if case.same is not None:
            # Both worlds were built in the same order, so their ids agree too.
            case.same(rest_data, body["data"])


async def _reset(services) -> None:
    await empty_tables(services)
