"""`?expand=owner`: the owner's public view, embedded from the same statement as the items."""

from __future__ import annotations

import pytest

from tests.api.assertions import assert_problem, error_locs
from tests.factories import make_account, make_item
from tests.statements import count_statements

ITEMS = "/api/v1/items"


async def test_a_list_with_owners_runs_the_same_statements_for_2_items_as_for_50(client, services):
    accounts = [await make_account(services, client) for _ in range(10)]
    for account in accounts:
        for _ in range(6):
            await make_item(client, account)
    viewer = accounts[0]

    counted = {}
    for size in (2, 50):
        for mode in ({}, {"cursor": ""}):
            params = {"size": size, "expand": "owner", **mode}
            with count_statements(services) as statements:
                response = await client.get(ITEMS, params=params, headers=viewer.headers)
            assert response.status_code == 200
            items = response.json()["items"]
            assert len(items) == size
            for item in items:
                assert item["owner"]["id"] == item["owner_id"]
            counted[size, bool(mode)] = len(statements)
            if size == 50:
                assert len({item["owner_id"] for item in items}) >= 9

    assert counted[2, False] == counted[50, False]
    assert counted[2, True] == counted[50, True]
    # The principal, then the page joined to its owners (and, by number, the count).
    assert counted[50, True] == 2, counted
    assert counted[50, False] == 3, counted


async def test_an_item_read_embeds_its_owner_in_one_statement(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    item = await make_item(client, ada, title="Desk lamp")

    with count_statements(services) as statements:
        response = await client.get(
            f"{ITEMS}/{item['id']}", params={"expand": "owner"}, headers=bob.headers
        )
    assert response.status_code == 200
    body = response.json()
    assert body["owner"] == {
        "id": ada.id,
        "node_id": body["owner"]["node_id"],
        "name": ada.user.name,
        "created_at": body["owner"]["created_at"],
    }
    assert "email" not in body["owner"]  # the public view only
    assert len(statements) == 2, statements  # the principal, the item joined to its owner

    plain = (await client.get(f"{ITEMS}/{item['id']}", headers=bob.headers)).json()
    assert "owner" not in plain
    assert {key: value for key, value in body.items() if key != "owner"} == plain

    # The ETag covers the owner too: a copy with the old name is no longer current.
    tag = response.headers["ETag"]
    again = await client.get(
        f"{ITEMS}/{item['id']}",
        params={"expand": "owner"},
        headers={**bob.headers, "If-None-Match": tag},
    )
    assert again.status_code == 304
    await client.patch("/api/v1/users/me", json={"name": "Ada Renamed"}, headers=ada.headers)
    renamed = await client.get(
        f"{ITEMS}/{item['id']}",
        params={"expand": "owner"},
        headers={**bob.headers, "If-None-Match": tag},
    )
    assert renamed.status_code == 200 and renamed.json()["owner"]["name"] == "Ada Renamed"


async def test_a_hidden_item_stays_hidden_when_expanded(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    draft = await make_item(client, ada, status="draft")
    response = await client.get(
        f"{ITEMS}/{draft['id']}", params={"expand": "owner"}, headers=bob.headers
    )
    assert_problem(response, 404, "NOT_FOUND")
    listed = await client.get(ITEMS, params={"expand": "owner"}, headers=bob.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize("path", [ITEMS, f"{ITEMS}/1"])
@pytest.mark.parametrize("value", ["owners", "tags", ""])
async def test_an_unknown_expansion_is_a_422(client, services, path, value):
    ada = await make_account(services, client)
    await make_item(client, ada)
    response = await client.get(path, params={"expand": value}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", "expand", 0)]
