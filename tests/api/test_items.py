"""The items resource on the REST face: shape, rules, visibility, ownership, lists, ETags."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.assertions import assert_problem, assert_unauthenticated, error_locs
from tests.factories import Account, make_account, make_item

ITEMS = "/api/v1/items"
ITEM_KEYS = {
    "id",
    "node_id",
    "title",
    "description",
    "price",
    "tags",
    "status",
    "owner_id",
    "created_at",
    "updated_at",
    "revision",
}


def url(item: dict[str, Any]) -> str:
    return f"{ITEMS}/{item['id']}"


async def listed(
    client: httpx.AsyncClient, account: Account, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(ITEMS, params={"size": 100, **params}, headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def listed_ids(client: httpx.AsyncClient, account: Account, **params: Any) -> list[int]:
    return [item["id"] for item in await listed(client, account, **params)]


async def create(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    return await client.post(ITEMS, json={"title": "A title", **body}, headers=account.headers)


# --- Creating -------------------------------------------------------------------------------


async def test_create_answers_201_with_the_item_its_location_and_etag(client, services):
    ada = await make_account(services, client)
    response = await create(client, ada, title="Guitar")
    assert response.status_code == 201
    item = response.json()
    assert set(item) == ITEM_KEYS
    assert item["title"] == "Guitar"

    location = response.headers["location"]
    assert location.endswith(f"/api/v1/items/{item['id']}")
    read = await client.get(location, headers=ada.headers)
    assert read.status_code == 200
    assert read.json() == item
    assert response.headers["etag"] == read.headers["etag"]


async def test_a_new_item_takes_the_defaults(client, services):
    ada = await make_account(services, client)
    item = (await create(client, ada)).json()
    assert item["status"] == "published"
    assert item["tags"] == []
    assert item["revision"] == 1
    assert item["description"] is None
    assert item["price"] is None
    assert item["created_at"] and item["updated_at"]


async def test_the_owner_is_the_caller_whatever_the_body_says(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    response = await create(client, ada, owner_id=bob.id, id=424242, version=9)
    assert response.status_code == 201
    item = response.json()
    assert item["owner_id"] == ada.id
    assert item["id"] != 424242
    assert item["revision"] == 1
    assert await listed_ids(client, bob, owner_id=bob.id) == []


async def test_node_id_is_the_base64_of_the_type_and_id(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    assert base64.b64decode(item["node_id"]).decode() == f"Item:{item['id']}"


async def test_every_field_round_trips(client, services):
    ada = await make_account(services, client)
    body = {
        "title": "Lamp",
        "description": "A desk lamp",
        "price": "19.99",
        "tags": ["home", "light"],
        "status": "archived",
    }
    item = (await create(client, ada, **body)).json()
    assert {key: item[key] for key in body} == body
    read = (await client.get(url(item), headers=ada.headers)).json()
    assert {key: read[key] for key in body} == body


@pytest.mark.parametrize(
    ("sent", "returned"),
    [("19.99", "19.99"), ("0", "0.00"), ("5", "5.00"), ("7.5", "7.50"), ("0.01", "0.01")],
)
async def test_a_price_is_a_decimal_string_with_two_places(client, services, sent, returned):
    ada = await make_account(services, client)
    response = await create(client, ada, price=sent)
    assert response.status_code == 201, response.text
    assert response.json()["price"] == returned
    assert (await client.get(url(response.json()), headers=ada.headers)).json()["price"] == returned


@pytest.mark.parametrize("price", ["19.999", "0.001", "-0.01", "-5", "abc", "NaN", "Infinity"])
async def test_a_bad_price_is_refused(client, services, price):
    ada = await make_account(services, client)
    response = await create(client, ada, price=price)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response)[0][:2] == ("body", "price")
    assert await listed_ids(client, ada) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": None}, "title"),
        ({"description": "d" * 10_001}, "description"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": "one,two"}, "tags"),
        ({"status": "deleted"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
    ids=[
        "empty-title",
        "blank-title",
        "201-char-title",
        "null-title",
        "long-description",
        "21-tags",
        "41-char-tag",
        "empty-tag",
        "tags-not-a-list",
        "unknown-status",
        "unknown-field",
    ],
)
async def test_an_invalid_item_is_refused(client, services, body, field):
    ada = await make_account(services, client)
    response = await client.post(ITEMS, json={"title": "ok", **body}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert field in {loc[1] if loc[0] == "body" else loc[0] for loc in error_locs(response)}
    assert await listed_ids(client, ada) == []


@pytest.mark.parametrize(
    "body",
    [{"title": "a\u0000b"}, {"description": "nul\u0000"}, {"tags": ["ok", "n\u0000l"]}],
    ids=["title", "description", "tag"],
)
async def test_a_nul_character_is_a_422_not_a_crash(client, services, body):
    # PostgreSQL text cannot hold U+0000; it must be refused as input, never reach the database.
    ada = await make_account(services, client)
    response = await client.post(ITEMS, json={"title": "ok", **body}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    item = await make_item(client, ada)
    patch = await client.patch(url(item), json=body, headers=ada.headers)
    assert_problem(patch, 422, "VALIDATION_FAILED")


async def test_the_limits_themselves_are_allowed(client, services):
    ada = await make_account(services, client)
    body = {
        "title": "t" * 200,
        "description": "d" * 10_000,
        "tags": [f"{n:02d}" + "x" * 38 for n in range(20)],
    }
    response = await create(client, ada, **body)
    assert response.status_code == 201, response.text
    assert len(response.json()["tags"]) == 20


# --- Reading, and conditional GET -----------------------------------------------------------


async def test_a_read_carries_an_etag_and_if_none_match_gives_304(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    first = await client.get(url(item), headers=ada.headers)
    etag = first.headers["etag"]
    again = await client.get(url(item), headers={**ada.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_a_changed_item_no_longer_matches_its_old_etag(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    etag = (await client.get(url(item), headers=ada.headers)).headers["etag"]
    await client.patch(url(item), json={"title": "Changed"}, headers=ada.headers)
    response = await client.get(url(item), headers={**ada.headers, "If-None-Match": etag})
    assert response.status_code == 200
    assert response.json()["title"] == "Changed"
    assert response.headers["etag"] != etag


async def test_an_unknown_item_is_a_404(client, services):
    ada = await make_account(services, client)
    assert_problem(await client.get(f"{ITEMS}/999999", headers=ada.headers), 404, "NOT_FOUND")


# --- Visibility and ownership ---------------------------------------------------------------


async def test_a_draft_is_not_found_by_another_member(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    draft = await make_item(client, ada, status="draft", title="Secret")
    etag = (await client.get(url(draft), headers=ada.headers)).headers["etag"]

    read = await client.get(url(draft), headers=bob.headers)
    patch = await client.patch(url(draft), json={"title": "Mine now"}, headers=bob.headers)
    stale = await client.patch(
        url(draft), json={"title": "x"}, headers={**bob.headers, "If-Match": '"nope"'}
    )
    delete = await client.delete(url(draft), headers={**bob.headers, "If-Match": etag})
    conditional = await client.get(url(draft), headers={**bob.headers, "If-None-Match": etag})
    for response in (read, patch, conditional):
        assert_problem(response, 404, "NOT_FOUND")
        assert "Secret" not in response.text
    # With If-Match, an item bob cannot see fails the precondition as a gone one does (412).
    for response in (stale, delete):
        assert_problem(response, 412, "PRECONDITION_FAILED")
        assert "Secret" not in response.text
    # And each answer is the very one an id that never existed gets.
    never = await client.get(f"{ITEMS}/999999", headers=bob.headers)
    assert read.json()["detail"] == never.json()["detail"].replace("999999", str(draft["id"]))
    never_matched = await client.delete(
        f"{ITEMS}/999999", headers={**bob.headers, "If-Match": etag}
    )
    assert delete.json()["detail"] == never_matched.json()["detail"].replace(
        "999999", str(draft["id"])
    )
    assert (await client.get(url(draft), headers=ada.headers)).json()["title"] == "Secret"


async def test_an_admin_sees_changes_and_deletes_anyones_draft(client, services):
    ada = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    draft = await make_item(client, ada, status="draft")
    assert (await client.get(url(draft), headers=admin.headers)).status_code == 200
    patch = await client.patch(url(draft), json={"title": "Edited"}, headers=admin.headers)
    assert patch.status_code == 200
    assert patch.json()["owner_id"] == ada.id
    assert (await client.delete(url(draft), headers=admin.headers)).status_code == 204


@pytest.mark.parametrize("status", ["published", "archived"])
async def test_anothers_visible_item_is_readable_but_not_changeable(client, services, status):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    item = await make_item(client, ada, status=status, title="Ada's")
    assert (await client.get(url(item), headers=bob.headers)).status_code == 200
    patch = await client.patch(url(item), json={"title": "Bob's"}, headers=bob.headers)
    assert_problem(patch, 403, "FORBIDDEN")
    assert_problem(await client.delete(url(item), headers=bob.headers), 403, "FORBIDDEN")
    after = (await client.get(url(item), headers=ada.headers)).json()
    assert (after["title"], after["revision"]) == ("Ada's", 1)


async def test_a_list_shows_the_visible_items_and_the_callers_own_drafts(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    admin = await make_account(services, client, role="admin")
    ada_published = await make_item(client, ada)
    ada_archived = await make_item(client, ada, status="archived")
    ada_draft = await make_item(client, ada, status="draft")
    bob_published = await make_item(client, bob)
    bob_draft = await make_item(client, bob, status="draft")

    def ids(*items: dict[str, Any]) -> set[int]:
        return {item["id"] for item in items}

    assert set(await listed_ids(client, ada)) == ids(
        ada_published, ada_archived, ada_draft, bob_published
    )
    assert set(await listed_ids(client, bob)) == ids(
        ada_published, ada_archived, bob_published, bob_draft
    )
    assert set(await listed_ids(client, admin)) == ids(
        ada_published, ada_archived, ada_draft, bob_published, bob_draft
    )
    body = (await client.get(ITEMS, headers=bob.headers)).json()
    assert body["total"] == 4


async def test_filtering_on_drafts_shows_only_ones_own(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    await make_item(client, ada, status="draft")
    bobs = await make_item(client, bob, status="draft")
    assert await listed_ids(client, bob, status="draft") == [bobs["id"]]
    assert await listed_ids(client, bob, owner_id=ada.id) == []


# --- Filters --------------------------------------------------------------------------------


async def test_lists_filter_by_owner_status_and_tag(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    a1 = await make_item(client, ada, tags=["red", "round"])
    a2 = await make_item(client, ada, status="archived", tags=["red"])
    b1 = await make_item(client, bob, tags=["reddish"])
    b2 = await make_item(client, bob, status="archived", tags=["blue"])

    assert set(await listed_ids(client, ada, owner_id=ada.id)) == {a1["id"], a2["id"]}
    assert set(await listed_ids(client, ada, owner_id=bob.id)) == {b1["id"], b2["id"]}
    assert set(await listed_ids(client, ada, status="archived")) == {a2["id"], b2["id"]}
    assert set(await listed_ids(client, ada, status="published")) == {a1["id"], b1["id"]}
    assert set(await listed_ids(client, ada, tag="red")) == {a1["id"], a2["id"]}
    assert await listed_ids(client, ada, tag="red", owner_id=ada.id, status="archived") == [
        a2["id"]
    ]
    assert await listed_ids(client, ada, owner_id=999999) == []


async def test_q_searches_titles_and_descriptions_by_substring(client, services):
    ada = await make_account(services, client)
    guitar = await make_item(client, ada, title="Vintage guitar")
    stand = await make_item(client, ada, title="Stand", description="Holds any Guitar safely")
    piano = await make_item(client, ada, title="Piano", description="Upright, vintage")

    assert set(await listed_ids(client, ada, q="guitar")) == {guitar["id"], stand["id"]}
    assert set(await listed_ids(client, ada, q="GUIT")) == {guitar["id"], stand["id"]}
    assert set(await listed_ids(client, ada, q="vint")) == {guitar["id"], piano["id"]}
    assert await listed_ids(client, ada, q="vintage gui") == [guitar["id"]]
    assert await listed_ids(client, ada, q="safe") == [stand["id"]]
    assert set(await listed_ids(client, ada, q="tar")) == {guitar["id"], stand["id"]}
    assert await listed_ids(client, ada, q="drum") == []


async def test_q_never_finds_what_the_caller_may_not_see(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    await make_item(client, ada, title="Hidden treasure", status="draft")
    assert await listed_ids(client, bob, q="treasure") == []


@pytest.mark.parametrize("q", ["it's", "a & b", "x:*", "(", "!", "100%", "\\"])
async def test_q_with_punctuation_is_harmless(client, services, q):
    ada = await make_account(services, client)
    await make_item(client, ada, title="It's 100% a & b")
    response = await client.get(ITEMS, params={"q": q}, headers=ada.headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"status": "deleted"},
        {"owner_id": "me"},
        {"owner_id": 0},
        {"tag": "x" * 41},
        {"q": "q" * 201},
    ],
    ids=str,
)
async def test_a_bad_filter_is_a_422(client, services, params):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params=params, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", next(iter(params)))]


async def test_a_nul_character_in_a_filter_is_a_422_not_a_crash(client, services):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params={"tag": "a\u0000"}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert (
        await client.get(ITEMS, params={"q": "a\u0000b"}, headers=ada.headers)
    ).status_code == 200


# --- Sorting and paging ---------------------------------------------------------------------


@pytest.fixture
async def three_items(client, services) -> Account:
    """Created in the order banana, cherry, apple; prices chosen so text order would differ."""
    ada = await make_account(services, client)
    await make_item(client, ada, title="banana", price="9.99")
    await make_item(client, ada, title="cherry", price="100.00")
    await make_item(client, ada, title="apple", price="10.00")
    return ada


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        (None, ["apple", "cherry", "banana"]),
        ("-created_at", ["apple", "cherry", "banana"]),
        ("created_at", ["banana", "cherry", "apple"]),
        ("title", ["apple", "banana", "cherry"]),
        ("-title", ["cherry", "banana", "apple"]),
        ("price", ["banana", "apple", "cherry"]),
        ("-price", ["cherry", "apple", "banana"]),
    ],
)
async def test_every_sort_orders_the_list(client, three_items, sort, order):
    ada = three_items
    params = {} if sort is None else {"sort": sort}
    titles = [item["title"] for item in await listed(client, ada, **params)]
    assert titles == order


@pytest.mark.parametrize("sort", ["price", "-price"])
async def test_items_without_a_price_still_appear_when_sorting_by_price(client, three_items, sort):
    ada = three_items
    free = await make_item(client, ada, title="free")
    listing = await listed(client, ada, sort=sort)
    assert len(listing) == 4 and free["id"] in {item["id"] for item in listing}
    prices = [Decimal(item["price"]) for item in listing if item["price"] is not None]
    assert prices == sorted(prices, reverse=sort.startswith("-"))


@pytest.mark.parametrize("sort", ["owner_id", "-updated_at", "price desc", "", "TITLE"])
async def test_an_unknown_sort_is_a_422(client, services, sort):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params={"sort": sort}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", "sort")]


async def test_pages_split_the_list_without_overlap(client, services):
    ada = await make_account(services, client)
    created = [await make_item(client, ada) for _ in range(5)]
    newest_first = [item["id"] for item in reversed(created)]

    seen = []
    for page, expected_count in ((1, 2), (2, 2), (3, 1)):
        response = await client.get(ITEMS, params={"page": page, "size": 2}, headers=ada.headers)
        body = response.json()
        assert set(body) == {"items", "total", "page", "size", "pages", "next_cursor", "has_more"}
        assert (body["total"], body["page"], body["size"], body["pages"]) == (5, page, 2, 3)
        assert len(body["items"]) == expected_count
        assert all(set(item) == ITEM_KEYS for item in body["items"])
        seen += [item["id"] for item in body["items"]]
    assert seen == newest_first

    beyond = (await client.get(ITEMS, params={"page": 4, "size": 2}, headers=ada.headers)).json()
    assert (beyond["items"], beyond["total"], beyond["pages"]) == ([], 5, 3)


async def test_an_empty_list_is_one_empty_page(client, services):
    ada = await make_account(services, client)
    body = (await client.get(ITEMS, headers=ada.headers)).json()
    assert (body["items"], body["total"], body["page"], body["size"]) == ([], 0, 1, 20)


@pytest.mark.parametrize("size", [1, 100])
async def test_sizes_1_to_100_are_allowed(client, services, size):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params={"size": size}, headers=ada.headers)
    assert response.status_code == 200
    assert response.json()["size"] == size


@pytest.mark.parametrize("params", [{"size": 0}, {"size": 101}, {"page": 0}, {"page": -1}], ids=str)
async def test_bad_paging_is_a_422(client, services, params):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params=params, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", next(iter(params)))]


@pytest.mark.parametrize("page", [10**18, 2**63, 10**30])
async def test_a_page_beyond_any_possible_list_is_a_422_not_a_crash(client, services, page):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params={"page": page}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")


async def test_a_far_page_that_the_database_can_still_count_to_is_just_empty(client, services):
    ada = await make_account(services, client)
    await make_item(client, ada)
    response = await client.get(ITEMS, params={"page": 10**9}, headers=ada.headers)
    assert response.status_code == 200
    assert (response.json()["items"], response.json()["total"]) == ([], 1)


async def test_a_list_carries_an_etag_and_if_none_match_gives_304(client, services):
    ada = await make_account(services, client)
    await make_item(client, ada)
    first = await client.get(ITEMS, headers=ada.headers)
    etag = first.headers["etag"]
    again = await client.get(ITEMS, headers={**ada.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""

    await make_item(client, ada)
    changed = await client.get(ITEMS, headers={**ada.headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["total"] == 2
    assert changed.headers["etag"] != etag


# --- Changing -------------------------------------------------------------------------------


async def test_patch_changes_the_given_fields_and_bumps_the_version_by_one(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada, title="Old", description="Keep me", tags=["a"])
    response = await client.patch(
        url(item), json={"title": "New", "price": "5.50"}, headers=ada.headers
    )
    assert response.status_code == 200
    changed = response.json()
    assert (changed["title"], changed["price"], changed["revision"]) == ("New", "5.50", 2)
    assert (changed["description"], changed["tags"], changed["status"]) == (
        "Keep me",
        ["a"],
        "published",
    )
    assert (
        response.headers["etag"]
        == (await client.get(url(item), headers=ada.headers)).headers["etag"]
    )
    again = await client.patch(url(item), json={"status": "archived"}, headers=ada.headers)
    assert again.json()["revision"] == 3


async def test_patch_null_clears_the_optional_fields(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada, description="d", price="1.00", tags=["t"])
    response = await client.patch(
        url(item), json={"description": None, "price": None}, headers=ada.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["description"], body["price"], body["tags"]) == (None, None, ["t"])


@pytest.mark.parametrize(
    "body",
    [{"title": None}, {"title": ""}, {"status": None}, {"price": "1.001"}, {"colour": "red"}],
    ids=str,
)
async def test_an_invalid_patch_is_a_422_and_changes_nothing(client, services, body):
    ada = await make_account(services, client)
    item = await make_item(client, ada, title="Same")
    response = await client.patch(url(item), json=body, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    after = (await client.get(url(item), headers=ada.headers)).json()
    assert (after["title"], after["revision"]) == ("Same", 1)


@pytest.mark.parametrize(
    "body",
    [{}, {"title": "Same"}, {"title": "Same", "price": "2.50", "tags": ["a", "b"]}],
    ids=["empty", "same-title", "same-everything"],
)
async def test_a_patch_that_changes_nothing_keeps_the_version(client, services, body):
    ada = await make_account(services, client)
    item = await make_item(client, ada, title="Same", price="2.50", tags=["a", "b"])
    response = await client.patch(url(item), json=body, headers=ada.headers)
    assert response.status_code == 200
    assert response.json()["revision"] == 1
    assert response.json()["updated_at"] == item["updated_at"]


async def test_patch_cannot_move_an_item_to_another_owner(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    item = await make_item(client, ada)
    response = await client.patch(
        url(item), json={"owner_id": bob.id, "version": 40}, headers=ada.headers
    )
    assert response.status_code == 200
    assert (response.json()["owner_id"], response.json()["revision"]) == (ada.id, 1)


async def test_patch_with_a_current_if_match_succeeds(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    etag = (await client.get(url(item), headers=ada.headers)).headers["etag"]
    response = await client.patch(
        url(item), json={"title": "Mine"}, headers={**ada.headers, "If-Match": etag}
    )
    assert response.status_code == 200
    assert response.json()["revision"] == 2


@pytest.mark.parametrize("stale", ["previous", '"something-else"', 'W/"item-0-v1"'])
async def test_patch_with_a_stale_if_match_is_a_412(client, services, stale):
    ada = await make_account(services, client)
    item = await make_item(client, ada, title="First")
    etag = (await client.get(url(item), headers=ada.headers)).headers["etag"]
    await client.patch(url(item), json={"title": "Second"}, headers=ada.headers)
    if_match = etag if stale == "previous" else stale
    response = await client.patch(
        url(item), json={"title": "Third"}, headers={**ada.headers, "If-Match": if_match}
    )
    assert_problem(response, 412, "PRECONDITION_FAILED")
    after = (await client.get(url(item), headers=ada.headers)).json()
    assert (after["title"], after["revision"]) == ("Second", 2)


async def test_delete_with_a_stale_if_match_is_a_412_and_keeps_the_item(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    etag = (await client.get(url(item), headers=ada.headers)).headers["etag"]
    await client.patch(url(item), json={"title": "Changed"}, headers=ada.headers)
    response = await client.delete(url(item), headers={**ada.headers, "If-Match": etag})
    assert_problem(response, 412, "PRECONDITION_FAILED")
    assert (await client.get(url(item), headers=ada.headers)).status_code == 200


async def test_delete_with_a_current_if_match_deletes(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    etag = (await client.get(url(item), headers=ada.headers)).headers["etag"]
    response = await client.delete(url(item), headers={**ada.headers, "If-Match": etag})
    assert response.status_code == 204


# Concurrent writers: interleavings vary, hence several attempts of each.


@pytest.mark.parametrize("attempt", range(4))
async def test_two_patches_at_once_without_if_match_both_apply(client, services, attempt):
    # No precondition was sent, so none can fail: the last write wins, each bumps the version.
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    responses = await asyncio.gather(
        client.patch(url(item), json={"title": "A"}, headers=ada.headers),
        client.patch(url(item), json={"description": "B"}, headers=ada.headers),
    )
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    after = (await client.get(url(item), headers=ada.headers)).json()
    assert (after["title"], after["description"], after["revision"]) == ("A", "B", 3)


@pytest.mark.parametrize("attempt", range(4))
async def test_two_patches_at_once_with_the_same_if_match_apply_once(client, services, attempt):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    etag = (await client.get(url(item), headers=ada.headers)).headers["etag"]
    conditional = {**ada.headers, "If-Match": etag}
    responses = await asyncio.gather(
        client.patch(url(item), json={"title": "A"}, headers=conditional),
        client.patch(url(item), json={"title": "B"}, headers=conditional),
    )
    assert sorted(r.status_code for r in responses) == [200, 412]
    assert (await client.get(url(item), headers=ada.headers)).json()["revision"] == 2


@pytest.mark.parametrize("attempt", range(4))
async def test_a_patch_racing_a_delete_is_applied_first_or_finds_nothing(client, services, attempt):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    patch, delete = await asyncio.gather(
        client.patch(url(item), json={"title": "A"}, headers=ada.headers),
        client.delete(url(item), headers=ada.headers),
    )
    assert delete.status_code == 204, delete.text
    assert patch.status_code in (200, 404), patch.text
    assert (await client.get(url(item), headers=ada.headers)).status_code == 404


# --- Deleting -------------------------------------------------------------------------------


async def test_delete_answers_204_and_the_item_is_gone(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    response = await client.delete(url(item), headers=ada.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(url(item), headers=ada.headers), 404, "NOT_FOUND")
    assert_problem(await client.delete(url(item), headers=ada.headers), 404, "NOT_FOUND")
    assert await listed_ids(client, ada) == []


# --- Anonymous callers ----------------------------------------------------------------------


async def test_every_items_route_needs_a_signed_in_caller(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    responses = [
        await client.get(ITEMS),
        await client.post(ITEMS, json={"title": "Anonymous"}),
        await client.get(url(item)),
        await client.patch(url(item), json={"title": "Anonymous"}),
        await client.delete(url(item)),
    ]
    for response in responses:
        assert_unauthenticated(response, bad_token=False)
    after = (await client.get(url(item), headers=ada.headers)).json()
    assert after["revision"] == 1
    assert len(await listed_ids(client, ada)) == 1
