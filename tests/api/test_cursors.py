"""REST cursor paging: keyset pages that hold still while items come and go, for every order."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tandem.domain.items import cursors
from tandem.domain.items.records import ItemFilters
from tests.api.assertions import assert_problem, error_locs
from tests.factories import Account, make_account, make_item

ITEMS = "/api/v1/items"
SORTS = ["-created_at", "created_at", "title", "-title", "price", "-price", "relevance"]


def _key(item: dict[str, Any], sort: str) -> Any:
    name = sort.lstrip("-")
    if name == "price":
        return Decimal(item["price"]) if item["price"] is not None else Decimal(-1)
    return item[name]


async def _make(client: httpx.AsyncClient, account: Account, rng: random.Random) -> dict[str, Any]:
    # Few distinct titles and prices, some without: many ties, broken by id.
    price = rng.choice([None, "1.00", "2.50", "2.50", "10.00"])
    title = rng.choice(["Lamp", "Desk lamp", "Lamp shade", "Floor lamp", "Lamp"])
    return await make_item(client, account, title=title, price=price)


@pytest.mark.parametrize("sort", SORTS)
async def test_a_cursor_walk_under_concurrent_inserts_and_deletes_has_no_duplicates_or_gaps(
    client, services, sort
):
    rng = random.Random(sort)
    ada = await make_account(services, client)
    original = [await _make(client, ada, rng) for _ in range(15)]
    alive = {item["id"] for item in original}
    deleted: set[int] = set()
    params: dict[str, Any] = {"sort": sort, "size": 3, "q": "lamp"}

    async def churn() -> None:
        """Insert two items and delete one, while the next page is being read."""
        for _ in range(2):
            alive.add((await _make(client, ada, rng))["id"])
        victim = rng.choice(sorted(alive))
        response = await client.delete(f"{ITEMS}/{victim}", headers=ada.headers)
        assert response.status_code == 204
        alive.discard(victim)
        deleted.add(victim)

    seen: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(100):
        response, _ = await asyncio.gather(
            client.get(ITEMS, params={**params, "cursor": cursor}, headers=ada.headers), churn()
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "size", "next_cursor", "has_more"}
        seen += page["items"]
        if not page["has_more"]:
            assert page["next_cursor"] is None and "Link" not in response.headers
            break
        cursor = page["next_cursor"]
    else:
        pytest.fail("the walk never ended")

    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids)), "an item was listed twice"
    survivors = {item["id"] for item in original} - deleted
    assert survivors <= set(ids), "an item that was there all along was skipped"
    if sort != "relevance":  # the walk is in order, ties broken by id
        keys = [(_key(item, sort), item["id"]) for item in seen]
        assert keys == sorted(keys, reverse=sort.startswith("-"))


async def test_a_page_links_to_the_next_and_the_link_walks_the_list(client, services):
    ada = await make_account(services, client)
    made = [await make_item(client, ada, title=f"Item {n}") for n in range(5)]
    response = await client.get(ITEMS, params={"size": 2, "sort": "title"}, headers=ada.headers)
    page = response.json()
    # The first page by number tells its total and continues by cursor.
    assert page["total"] == 5 and page["has_more"] is True and page["next_cursor"]
    seen = [item["id"] for item in page["items"]]
    while "Link" in response.headers:
        link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["Link"])
        assert link is not None, response.headers["Link"]
        assert "sort=title" in link[1] and "page=" not in link[1]
        response = await client.get(link[1], headers=ada.headers)
        assert response.status_code == 200
        page = response.json()
        assert "total" not in page and "pages" not in page  # a cursor page costs no count
        seen += [item["id"] for item in page["items"]]
    assert seen == [item["id"] for item in made]
    assert page["has_more"] is False and page["next_cursor"] is None


async def test_an_empty_cursor_starts_a_cursor_walk(client, services):
    ada = await make_account(services, client)
    for n in range(3):
        await make_item(client, ada, title=f"Item {n}")
    response = await client.get(ITEMS, params={"cursor": "", "size": 2}, headers=ada.headers)
    page = response.json()
    assert [item["title"] for item in page["items"]] == ["Item 2", "Item 1"]
    assert page["has_more"] is True and "total" not in page


async def test_page_and_cursor_together_are_a_422(client, services):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params={"cursor": "", "page": 2}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")


async def _cursor(client: httpx.AsyncClient, account: Account, **params: Any) -> str:
    response = await client.get(ITEMS, params={"size": 1, **params}, headers=account.headers)
    cursor: str = response.json()["next_cursor"]
    assert cursor
    return cursor


@pytest.mark.parametrize(
    ("made_with", "used_with"),
    [
        ({"sort": "title"}, {"sort": "-price"}),
        ({"sort": "title"}, {"sort": "-title"}),
        ({"q": "lamp"}, {"q": "desk"}),
        ({"q": "lamp"}, {}),
        ({"tag": "red"}, {"tag": "blue"}),
        ({"status": "published"}, {"status": "archived"}),
        ({}, {"owner_id": 1}),
    ],
    ids=str,
)
async def test_a_cursor_of_another_sort_or_filter_is_a_422(client, services, made_with, used_with):
    ada = await make_account(services, client)
    for title in ("Desk lamp", "Lamp"):
        await make_item(client, ada, title=title, tags=["red", "blue"])
    cursor = await _cursor(client, ada, **made_with)
    response = await client.get(ITEMS, params={**used_with, "cursor": cursor}, headers=ada.headers)
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", "cursor")]
    assert "another list" in problem["errors"][0]["msg"]


@pytest.mark.parametrize("cursor", ["garbage", "aWQ6MQ", "W10", "eyJ4IjogMX0", "!" * 50])
async def test_a_garbled_cursor_is_a_422(client, services, cursor):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params={"cursor": cursor}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", "cursor")]


async def test_users_page_by_cursor_for_admins(client, services):
    admin = await make_account(services, client, role="admin")
    for _ in range(4):
        await make_account(services, client)
    response = await client.get("/api/v1/users", params={"size": 2}, headers=admin.headers)
    page = response.json()
    assert page["total"] == 5 and page["has_more"]
    seen = [user["id"] for user in page["items"]]
    while page["has_more"]:
        response = await client.get(
            "/api/v1/users",
            params={"size": 2, "cursor": page["next_cursor"]},
            headers=admin.headers,
        )
        page = response.json()
        assert "total" not in page
        seen += [user["id"] for user in page["items"]]
    assert seen == sorted(seen) and len(seen) == 5
    assert "Link" not in response.headers

    for _ in range(2):
        await make_item(client, admin)
    item_cursor = await _cursor(client, admin)
    wrong = await client.get("/api/v1/users", params={"cursor": item_cursor}, headers=admin.headers)
    assert_problem(wrong, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("title", "a\u0000b"),
        ("price", "1e999999"),
        ("price", "NaN"),
        ("created_at", 5),
        ("relevance", "high"),
        ("-created_at", "not a time"),
    ],
)
async def test_a_forged_cursor_is_a_422_not_a_crash(client, services, sort, value):
    ada = await make_account(services, client)
    await make_item(client, ada, title="Lamp")
    params = {"sort": sort, **({"q": "lamp"} if sort == "relevance" else {})}
    filters = ItemFilters(q=params.get("q"))
    raw = json.dumps([sort, cursors.fingerprint(filters), value, 1])
    forged = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response = await client.get(ITEMS, params={**params, "cursor": forged}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
