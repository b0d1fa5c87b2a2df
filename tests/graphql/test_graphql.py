"""The GraphQL face's own behaviour: paging, global IDs, privacy, the guard, GraphiQL, masking."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tandem.app import create_app
from tandem.domain import global_ids
from tandem.graphql.schema import sdl
from tests.factories import make_account, make_item
from tests.graphql.helpers import codes, gql

ROOT = Path(__file__).resolve().parents[2]
PAGE = """
query($first: Int, $after: String, $order: ItemOrder) {
  items(first: $first, after: $after, orderBy: $order) {
    totalCount
    edges { cursor node { id title price } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def _walk(client, headers, *, first: int, order: str) -> list[dict]:
    seen, after = [], None
    for _ in range(100):
        body = await gql(
            client, PAGE, {"first": first, "after": after, "order": order}, headers=headers
        )
        assert "errors" not in body, body
        page = body["data"]["items"]
        seen += [edge["node"] for edge in page["edges"]]
        if page["edges"]:
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
            assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging never ended")


@pytest.mark.parametrize(
    ("order", "key"),
    [
        ("CREATED_AT_DESC", None),
        ("TITLE_ASC", lambda n: (n["title"],)),
        ("TITLE_DESC", lambda n: (n["title"],)),
        ("PRICE_ASC", lambda n: (-1 if n["price"] is None else float(n["price"]),)),
        ("PRICE_DESC", lambda n: (-1 if n["price"] is None else float(n["price"]),)),
    ],
)
async def test_paging_walks_every_item_exactly_once_in_order(client, services, order, key):
    ada = await make_account(services, client)
    prices = ["5.00", None, "1.50", "5.00", "9.99", None, "0.00"]
    for number in range(23):  # repeated titles and prices: ties are broken by id
        await make_item(client, ada, title=f"Item {number % 5}", price=prices[number % 7])

    seen = await _walk(client, ada.headers, first=4, order=order)

    ids = [node["id"] for node in seen]
    assert len(ids) == 23 and len(set(ids)) == 23
    if key is not None:
        values = [key(node) for node in seen]
        assert values == sorted(values, reverse=order.endswith("DESC"))
    else:  # newest first: the reverse of creation order, which is id order here
        numbers = [global_ids.decode_as(node_id, "Item") for node_id in ids]
        assert numbers == sorted(numbers, reverse=True)


async def test_paging_is_stable_when_items_are_added_meanwhile(client, services):
    ada = await make_account(services, client)
    for number in range(6):
        await make_item(client, ada, title=f"Old {number}")
    first = await gql(client, PAGE, {"first": 3}, headers=ada.headers)
    for number in range(4):
        await make_item(client, ada, title=f"New {number}")
    after = first["data"]["items"]["pageInfo"]["endCursor"]
    rest = await gql(client, PAGE, {"first": 10, "after": after}, headers=ada.headers)
    titles = [e["node"]["title"] for e in rest["data"]["items"]["edges"]]
    assert titles == ["Old 2", "Old 1", "Old 0"]


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_first_outside_1_to_100_is_bad_user_input(client, services, first):
    ada = await make_account(services, client)
    body = await gql(client, PAGE, {"first": first}, headers=ada.headers)
    assert codes(body) == ["BAD_USER_INPUT"]
    nested = "query($n: Int) { me { items(first: $n) { totalCount } } }"
    assert codes(await gql(client, nested, {"n": first}, headers=ada.headers)) == ["BAD_USER_INPUT"]


async def test_a_cursor_from_another_order_or_garbage_is_bad_user_input(client, services):
    ada = await make_account(services, client)
    await make_item(client, ada)
    page = await gql(client, PAGE, {"first": 1, "order": "TITLE_ASC"}, headers=ada.headers)
    cursor = page["data"]["items"]["pageInfo"]["endCursor"]
    for after in (cursor, "garbage", ""):
        body = await gql(client, PAGE, {"first": 1, "after": after or "x"}, headers=ada.headers)
        assert codes(body) == ["BAD_USER_INPUT"], after


async def test_a_global_id_re_encoded_as_another_type_finds_nothing(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    as_user = global_ids.encode("User", item["id"])  # a user with that number exists too
    as_item = global_ids.encode("Item", ada.id)
    assert ada.id == item["id"] == 1

    body = await gql(
        client, "query($id: ID!) { item(id: $id) { id } }", {"id": as_user}, headers=ada.headers
    )
    assert body["data"]["item"] is None and codes(body) == ["NOT_FOUND"]
    body = await gql(
        client,
        "query($id: ID!) { user(id: $id) { id } }",
        {"id": item["node_id"]},
        headers=ada.headers,
    )
    assert body["data"]["user"] is None and codes(body) == ["NOT_FOUND"]
    body = await gql(
        client,
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": [as_item, as_user, "not-an-id", global_ids.encode("Widget", 1)]},
        headers=ada.headers,
    )
    assert body["data"]["nodes"] == [
        {"__typename": "Item", "id": as_item},
        {"__typename": "User", "id": as_user},
        None,
        None,
    ]


async def test_node_hides_what_you_may_not_see_without_an_error(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    draft = await make_item(client, ada, status="draft")
    query = "query($id: ID!) { node(id: $id) { id ... on Item { title } } }"
    hidden = await gql(client, query, {"id": draft["node_id"]}, headers=bob.headers)
    assert hidden["data"] == {"node": None} and "errors" not in hidden
    mine = await gql(client, query, {"id": draft["node_id"]}, headers=ada.headers)
    assert mine["data"]["node"]["title"] == draft["title"]


async def test_email_and_role_are_null_for_anyone_but_the_user_and_admins(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    query = "query($id: ID!) { user(id: $id) { name email role } }"
    variables = {"id": global_ids.encode("User", ada.id)}
    seen_by_bob = await gql(client, query, variables, headers=bob.headers)
    assert seen_by_bob["data"]["user"] == {"name": ada.user.name, "email": None, "role": None}
    for viewer in (ada, admin):
        seen = await gql(client, query, variables, headers=viewer.headers)
        assert seen["data"]["user"] == {
            "name": ada.user.name,
            "email": ada.user.email,
            "role": "MEMBER",
        }
    # The same rule on a user reached through a relation.
    await make_item(client, ada)
    body = await gql(client, "{ items { nodes { owner { email } } } }", headers=bob.headers)
    assert body["data"]["items"]["nodes"] == [{"owner": {"email": None}}]


async def test_users_is_for_admins_and_pages_by_cursor(client, services):
    member = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    for _ in range(3):
        await make_account(services, client)
    query = "query($after: String) { users(first: 2, after: $after) { totalCount nodes { databaseId } pageInfo { hasNextPage endCursor } } }"
    assert codes(await gql(client, query, headers=member.headers)) == ["FORBIDDEN"]
    seen, after = [], None
    while True:
        page = (await gql(client, query, {"after": after}, headers=admin.headers))["data"]["users"]
        assert page["totalCount"] == 5
        seen += [n["databaseId"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and len(seen) == 5


async def test_mutations_create_update_delete_and_update_me(client, services):
    ada = await make_account(services, client)
    created = await gql(
        client,
        'mutation { createItem(input: {title: "Lamp", price: "19.90", tags: ["a", "a", "b"]}) { id version tags price status owner { databaseId } } }',
        headers=ada.headers,
    )
    item = created["data"]["createItem"]
    assert item["tags"] == ["a", "b"] and item["price"] == "19.90" and item["status"] == "PUBLISHED"
    assert item["owner"]["databaseId"] == ada.id and item["version"] == 1

    update = "mutation($id: ID!, $v: Int) { updateItem(id: $id, input: {description: null, price: null}, expectedVersion: $v) { version price description } }"
    body = await gql(client, update, {"id": item["id"], "v": 1}, headers=ada.headers)
    assert body["data"]["updateItem"] == {"version": 2, "price": None, "description": None}
    stale = await gql(client, update, {"id": item["id"], "v": 1}, headers=ada.headers)
    assert codes(stale) == ["PRECONDITION_FAILED"]
    unchanged = await gql(client, update, {"id": item["id"], "v": 2}, headers=ada.headers)
    assert unchanged["data"]["updateItem"]["version"] == 2  # nothing changed, no new version

    deleted = await gql(
        client,
        "mutation($id: ID!) { deleteItem(id: $id) }",
        {"id": item["id"]},
        headers=ada.headers,
    )
    assert deleted["data"]["deleteItem"] == item["id"]
    gone = await gql(
        client, "query($id: ID!) { item(id: $id) { id } }", {"id": item["id"]}, headers=ada.headers
    )
    assert codes(gone) == ["NOT_FOUND"]

    renamed = await gql(
        client, 'mutation { updateMe(input: {name: "Ada L."}) { name } }', headers=ada.headers
    )
    assert renamed["data"]["updateMe"]["name"] == "Ada L."
    wrong = await gql(
        client,
        'mutation { updateMe(input: {password: "new password 1", currentPassword: "wrong one"}) { name } }',
        headers=ada.headers,
    )
    assert codes(wrong) == ["BAD_USER_INPUT"]
    assert wrong["errors"][0]["extensions"]["errors"][0]["loc"] == ["input", "currentPassword"]


async def test_anonymous_callers_may_introspect_but_not_read_data(client, services):
    body = await gql(client, "{ __schema { queryType { name } } }")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    for query in ("{ me { id } }", "{ items { totalCount } }", '{ node(id: "SXRlbTox") { id } }'):
        assert codes(await gql(client, query)) == ["UNAUTHENTICATED"], query


@pytest.mark.parametrize(
    "operation",
    [
        '{ item(id: "bogus") { id } }',
        '{ user(id: "bogus") { id } }',
        'mutation { deleteItem(id: "bogus") }',
        'mutation { updateItem(id: "SXRlbTox", input: {title: "x"}) { id } }',
    ],
)
async def test_anonymous_callers_hear_unauthenticated_before_anything_about_an_id(
    client, operation
):
    assert codes(await gql(client, operation)) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer "])
async def test_a_bad_token_is_401_on_graphql_too(client, header):
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_same_token_gives_the_same_principal_on_both_faces(client, services):
    ada = await make_account(services, client)
    rest = (await client.get("/api/v1/users/me", headers=ada.headers)).json()
    body = await gql(client, "{ me { id databaseId email } }", headers=ada.headers)
    assert body["data"]["me"] == {
        "id": rest["node_id"],
        "databaseId": rest["id"],
        "email": rest["email"],
    }


async def test_loaders_are_per_request_and_never_leak_between_principals(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    draft = await make_item(client, ada, status="draft")
    query = "query($id: ID!) { node(id: $id) { id } }"
    results = await asyncio.gather(
        *(
            gql(client, query, {"id": draft["node_id"]}, headers=who.headers)
            for who in [ada, bob] * 5
        )
    )
    assert [r["data"]["node"] is not None for r in results] == [True, False] * 5


async def test_graphiql_opens_for_browsers_and_queries_work_over_get(client, services):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    ada = await make_account(services, client)
    over_get = await client.get(
        "/graphql", params={"query": "{ me { name } }"}, headers=ada.headers
    )
    assert over_get.status_code == 200 and over_get.json()["data"]["me"]["name"] == ada.user.name


async def test_mutations_are_refused_over_get(client, services):
    ada = await make_account(services, client)
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { createItem(input: {title: "x"}) { id } }'},
        headers=ada.headers,
    )
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    listed = await client.get("/api/v1/items", headers=ada.headers)
    assert listed.json()["total"] == 0


async def test_production_masks_unexpected_errors_and_hides_introspection(
    settings, services, monkeypatch
):
    production = settings.model_copy(update={"tandem_env": "production"})
    app = create_app(production, services=services)

    async def broken(*args, **kwargs):
        raise RuntimeError("connection string postgres://secret@db")

    ada_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    )
    async with ada_client as client:
        ada = await make_account(services, client)
        monkeypatch.setattr(services.items, "slice", broken)
        body = await gql(client, "{ items { totalCount } }", headers=ada.headers)
        assert codes(body) == ["INTERNAL"]
        assert "secret" not in str(body) and "RuntimeError" not in str(body)
        assert body["errors"][0]["extensions"]["request_id"]
        introspection = await gql(
            client, "{ __schema { queryType { name } } }", headers=ada.headers
        )
        assert introspection.get("data") is None and introspection["errors"]
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()


async def test_development_shows_unexpected_errors_with_the_internal_code(
    client, services, monkeypatch
):
    ada = await make_account(services, client)

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services.items, "slice", broken)
    body = await gql(client, "{ items { totalCount } }", headers=ada.headers)
    assert codes(body) == ["INTERNAL"] and body["errors"][0]["message"] == "boom"


async def test_syntax_and_validation_errors_have_codes(client, services):
    ada = await make_account(services, client)
    response = await client.post("/graphql", json={"query": "{ items { "}, headers=ada.headers)
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    response = await client.post(
        "/graphql", json={"query": "{ items { nope } }"}, headers=ada.headers
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await gql(
        client,
        'mutation { createItem(input: {title: "x", price: "abc"}) { id } }',
        headers=ada.headers,
    )
    assert codes(body) in (["BAD_USER_INPUT"], ["GRAPHQL_VALIDATION_FAILED"])


def test_the_committed_schema_graphql_is_current():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), "schema.graphql is stale: run `make schema` and commit it"
