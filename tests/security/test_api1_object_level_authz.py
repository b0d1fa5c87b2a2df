"""API1 Broken object-level authorization: another user's objects, by id and by global id.

Bob (a member) goes after Ada's draft, which he may not see (404 / NOT_FOUND, exactly as
for an id that does not exist), and after her published item, which he may see but not
change (403 / FORBIDDEN). Each attack ends by checking that Ada's item is untouched.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tandem.domain import global_ids
from tests.factories import Account, make_account, make_item
from tests.security.helpers import codes, graphql, without_request_id

ITEM = "query($id: ID!) { item(id: $id) { id title } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Item { title } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
UPDATE = 'mutation($id: ID!) { updateItem(id: $id, input: {title: "pwned"}) { id title } }'
UPDATE_EXPECTING = (
    "mutation($id: ID!, $v: Int) {"
    ' updateItem(id: $id, input: {title: "pwned"}, expectedVersion: $v) { id } }'
)
DELETE = "mutation($id: ID!) { deleteItem(id: $id) }"


@dataclass
class Scene:
    ada: Account
    bob: Account
    draft: dict[str, Any]
    published: dict[str, Any]


@pytest.fixture
async def scene(client, services) -> Scene:
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    draft = await make_item(client, ada, title="Ada's secret plan", status="draft")
    published = await make_item(client, ada, title="Ada's lamp")
    return Scene(ada, bob, draft, published)


def url(item: dict[str, Any]) -> str:
    return f"/api/v1/items/{item['id']}"


async def assert_untouched(client: httpx.AsyncClient, scene: Scene, item: dict[str, Any]) -> None:
    response = await client.get(url(item), headers=scene.ada.headers)
    assert response.status_code == 200
    now = response.json()
    assert (now["title"], now["revision"]) == (item["title"], item["revision"])


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"


# --- Another user's draft: not found, on every route -------------------------------------------


async def test_anothers_draft_is_not_found_by_id_exactly_like_a_missing_item(client, scene):
    hidden = await client.get(url(scene.draft), headers=scene.bob.headers)
    missing = await client.get("/api/v1/items/987654", headers=scene.bob.headers)
    assert_not_found(hidden)
    assert_not_found(missing)
    same = without_request_id(hidden)
    same["detail"] = same["detail"].replace(str(scene.draft["id"]), "987654")
    assert same == without_request_id(missing)
    # The control: the id is real, and its owner sees it.
    assert (await client.get(url(scene.draft), headers=scene.ada.headers)).status_code == 200


async def test_anothers_draft_is_null_on_graphql_by_global_id(client, scene):
    node_id = scene.draft["node_id"]
    by_item = (await graphql(client, ITEM, {"id": node_id}, headers=scene.bob.headers)).json()
    assert by_item["data"] == {"item": None} and codes(by_item) == ["NOT_FOUND"]
    missing_id = global_ids.encode("Item", 987654)
    missing = (await graphql(client, ITEM, {"id": missing_id}, headers=scene.bob.headers)).json()
    hidden_error = by_item["errors"][0]
    missing_error = missing["errors"][0]
    assert hidden_error["message"].replace(node_id, missing_id) == (missing_error["message"])

    by_node = (await graphql(client, NODE, {"id": node_id}, headers=scene.bob.headers)).json()
    assert by_node == {"data": {"node": None}, "extensions": by_node["extensions"]}
    ids = [node_id, scene.published["node_id"]]
    by_nodes = (await graphql(client, NODES, {"ids": ids}, headers=scene.bob.headers)).json()
    assert by_nodes["data"]["nodes"] == [None, {"id": scene.published["node_id"]}]

    mine = (await graphql(client, NODE, {"id": node_id}, headers=scene.ada.headers)).json()
    assert mine["data"]["node"]["title"] == scene.draft["title"]


async def test_anothers_draft_cannot_be_changed_or_deleted_on_rest(client, scene):
    assert_not_found(
        await client.patch(url(scene.draft), json={"title": "pwned"}, headers=scene.bob.headers)
    )
    assert_not_found(await client.delete(url(scene.draft), headers=scene.bob.headers))
    await assert_untouched(client, scene, scene.draft)


async def test_anothers_draft_cannot_be_changed_or_deleted_on_graphql(client, scene):
    variables = {"id": scene.draft["node_id"]}
    for mutation in (UPDATE, DELETE):
        body = (await graphql(client, mutation, variables, headers=scene.bob.headers)).json()
        assert codes(body) == ["NOT_FOUND"], mutation
        assert body["data"] is None
    await assert_untouched(client, scene, scene.draft)


@pytest.mark.parametrize("version", [1, 2])
async def test_a_version_check_does_not_reveal_anothers_draft(client, scene, version):
    # Different answers for the right and a wrong version would confirm the draft exists. With
    # If-Match, an item bob cannot see answers as a gone one does (RFC 9110: 412), whatever
    # the version, and exactly as an id that never existed.
    headers = {**scene.bob.headers, "If-Match": f'"item-{scene.draft["id"]}-v{version}"'}
    missing = {**scene.bob.headers, "If-Match": f'"item-999999-v{version}"'}
    never = await client.delete("/api/v1/items/999999", headers=missing)
    for response in (
        await client.patch(url(scene.draft), json={"title": "x"}, headers=headers),
        await client.delete(url(scene.draft), headers=headers),
    ):
        assert response.status_code == 412, response.text
        assert response.json()["code"] == "PRECONDITION_FAILED"
        expected = never.json()["detail"].replace("999999", str(scene.draft["id"]))
        assert response.json()["detail"] == expected
    variables = {"id": scene.draft["node_id"], "v": version}
    body = (await graphql(client, UPDATE_EXPECTING, variables, headers=scene.bob.headers)).json()
    assert codes(body) == ["PRECONDITION_FAILED"]
    await assert_untouched(client, scene, scene.draft)


async def test_lists_counts_and_searches_never_include_anothers_draft(client, scene):
    params = {"owner_id": scene.ada.id, "status": "draft"}
    rest = (await client.get("/api/v1/items", params=params, headers=scene.bob.headers)).json()
    assert rest["items"] == [] and rest["total"] == 0
    searched = await client.get("/api/v1/items", params={"q": "secret"}, headers=scene.bob.headers)
    assert searched.json()["total"] == 0

    owner = global_ids.encode("User", scene.ada.id)
    query = """
    query($owner: ID!) {
      items(filter: {ownerId: $owner, status: DRAFT}) { totalCount nodes { id } }
      search: items(filter: {q: "secret"}) { totalCount nodes { id } }
      user(id: $owner) { items(filter: {status: DRAFT}) { totalCount nodes { id } } }
    }
    """
    body = (await graphql(client, query, {"owner": owner}, headers=scene.bob.headers)).json()
    empty = {"totalCount": 0, "nodes": []}
    assert body["data"] == {"items": empty, "search": empty, "user": {"items": empty}}
    # The control: Ada's own view of the same query finds the draft three times.
    mine = (await graphql(client, query, {"owner": owner}, headers=scene.ada.headers)).json()
    assert mine["data"]["items"]["totalCount"] == 1
    assert mine["data"]["search"]["totalCount"] == 1
    assert mine["data"]["user"]["items"]["totalCount"] == 1


# --- Another user's published item: readable, never changeable ---------------------------------


async def test_anothers_published_item_is_forbidden_to_change_on_rest(client, scene):
    headers = scene.bob.headers
    assert (await client.get(url(scene.published), headers=headers)).status_code == 200
    changed = await client.patch(url(scene.published), json={"title": "pwned"}, headers=headers)
    deleted = await client.delete(url(scene.published), headers=headers)
    for response in (changed, deleted):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "FORBIDDEN"
    await assert_untouched(client, scene, scene.published)


async def test_anothers_published_item_is_forbidden_to_change_on_graphql(client, scene):
    variables = {"id": scene.published["node_id"]}
    for mutation in (UPDATE, DELETE):
        body = (await graphql(client, mutation, variables, headers=scene.bob.headers)).json()
        assert codes(body) == ["FORBIDDEN"], mutation
    await assert_untouched(client, scene, scene.published)


# --- Global ids re-encoded, mangled, or of another type -------------------------------------------


def reencoded(item: dict[str, Any]) -> list[str]:
    """The item's number under other type names, or near-spellings of its own."""
    number = item["id"]
    names = [f"User:{number}", f"item:{number}", f"ITEM:{number}", f"Items:{number}"]
    return [base64.b64encode(name.encode()).decode() for name in [*names, f"Item: {number}"]]


async def test_a_global_id_re_encoded_under_another_type_finds_nothing(client, scene):
    for target in (scene.draft, scene.published):
        for forged in reencoded(target):
            variables = {"id": forged}
            read = (await graphql(client, ITEM, variables, headers=scene.bob.headers)).json()
            assert read["data"] == {"item": None} and codes(read) == ["NOT_FOUND"], forged
            for mutation in (UPDATE, DELETE):
                body = (
                    await graphql(client, mutation, variables, headers=scene.bob.headers)
                ).json()
                assert codes(body) == ["NOT_FOUND"], (forged, mutation)
            node = (await graphql(client, NODE, variables, headers=scene.bob.headers)).json()
            assert node["data"]["node"] is None or node["data"]["node"].get("title") is None
        await assert_untouched(client, scene, target)


async def test_a_users_global_id_is_not_an_items_and_back(client, scene):
    as_user = (
        await graphql(
            client,
            "query($id: ID!) { user(id: $id) { id } }",
            {"id": scene.published["node_id"]},
            headers=scene.bob.headers,
        )
    ).json()
    assert codes(as_user) == ["NOT_FOUND"]
    user_id = global_ids.encode("User", scene.ada.id)
    as_item = (await graphql(client, ITEM, {"id": user_id}, headers=scene.bob.headers)).json()
    assert codes(as_item) == ["NOT_FOUND"]


async def test_anonymous_callers_reach_no_item_on_either_face(client, scene):
    for item in (scene.draft, scene.published):
        response = await client.get(url(item))
        assert response.status_code == 401
        body = (await graphql(client, ITEM, {"id": item["node_id"]})).json()
        assert codes(body) == ["UNAUTHENTICATED"] and body["data"] == {"item": None}
        deleted = (await graphql(client, DELETE, {"id": item["node_id"]})).json()
        assert codes(deleted) == ["UNAUTHENTICATED"]
        await assert_untouched(client, scene, item)
