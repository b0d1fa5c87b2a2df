"""Relay connections page both ways, and know whether a page lies before and after."""

from __future__ import annotations

import pytest

from tests.factories import make_account, make_item
from tests.graphql.helpers import codes, gql
from tests.statements import count_statements

ORDERS = ["CREATED_AT_DESC", "CREATED_AT_ASC", "TITLE_ASC", "TITLE_DESC", "PRICE_ASC", "PRICE_DESC"]
PAGE = """
query($first: Int, $after: String, $last: Int, $before: String, $order: ItemOrder!) {
  items(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def _page(client, headers, **variables):
    body = await gql(client, PAGE, variables, headers=headers)
    assert "errors" not in body, body
    return body["data"]["items"]


def _ids(page) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


@pytest.fixture
async def ada(client, services):
    ada = await make_account(services, client)
    prices = ["5.00", None, "1.50", "5.00", None]
    for number in range(11):  # ties in title and price, broken by id
        await make_item(client, ada, title=f"Item {number % 4}", price=prices[number % 5])
    return ada


@pytest.mark.parametrize("order", ORDERS)
async def test_walking_backward_from_the_end_sees_the_forward_walk_reversed(client, ada, order):
    forward = _ids(await _page(client, ada.headers, first=100, order=order))
    assert len(forward) == 11

    seen: list[str] = []
    before = None
    pages = 0
    while True:
        page = await _page(client, ada.headers, last=3, before=before, order=order)
        pages += 1
        seen = _ids(page) + seen
        info = page["pageInfo"]
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        # Paging backward, a page follows this one unless it is the very end of the list.
        assert info["hasNextPage"] is (pages > 1)
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert seen == forward
    assert pages == 4  # 3 + 3 + 3 + 2


@pytest.mark.parametrize("order", ORDERS)
async def test_a_forward_page_after_a_cursor_has_a_previous_page(client, ada, order):
    first = await _page(client, ada.headers, first=4, order=order)
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["hasNextPage"] is True
    second = await _page(
        client, ada.headers, first=4, after=first["pageInfo"]["endCursor"], order=order
    )
    assert second["pageInfo"]["hasPreviousPage"] is True
    # Back from the second page's start is the first page again.
    back = await _page(
        client, ada.headers, last=4, before=second["pageInfo"]["startCursor"], order=order
    )
    assert _ids(back) == _ids(first)
    assert back["pageInfo"]["hasPreviousPage"] is False
    assert back["pageInfo"]["hasNextPage"] is True


async def test_has_previous_page_holds_when_the_cursor_item_is_deleted(client, services, ada):
    first = await _page(client, ada.headers, first=2, order="TITLE_ASC")
    # The first page's items go; the list before the cursor is then empty.
    for node_id in _ids(first):
        body = await gql(
            client,
            "mutation($id: ID!) { deleteItem(id: $id) }",
            {"id": node_id},
            headers=ada.headers,
        )
        assert "errors" not in body
    after = await _page(
        client, ada.headers, first=2, after=first["pageInfo"]["endCursor"], order="TITLE_ASC"
    )
    assert after["pageInfo"]["hasPreviousPage"] is False
    assert len(after["edges"]) == 2


async def test_user_items_and_users_page_backward_too(client, services, ada):
    query = """
    query($last: Int, $before: String) {
      me { items(last: $last, before: $before) {
        nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor } } }
    }"""
    everything = (
        await gql(client, "{ me { items(first: 100) { nodes { id } } } }", headers=ada.headers)
    )["data"]["me"]["items"]["nodes"]
    tail = (await gql(client, query, {"last": 4}, headers=ada.headers))["data"]["me"]["items"]
    assert tail["nodes"] == everything[-4:]
    assert tail["pageInfo"]["hasPreviousPage"] is True and tail["pageInfo"]["hasNextPage"] is False
    before = tail["pageInfo"]["startCursor"]
    earlier = await gql(client, query, {"last": 4, "before": before}, headers=ada.headers)
    page = earlier["data"]["me"]["items"]
    assert page["nodes"] == everything[-8:-4]
    assert page["pageInfo"]["hasNextPage"] is True and page["pageInfo"]["hasPreviousPage"] is True

    admin = await make_account(services, client, role="admin")
    users_query = """
    query($first: Int, $after: String, $last: Int, $before: String) {
      users(first: $first, after: $after, last: $last, before: $before) {
        totalCount nodes { databaseId } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
    }"""
    last = (await gql(client, users_query, {"last": 1}, headers=admin.headers))["data"]["users"]
    assert last["nodes"] == [{"databaseId": admin.id}] and last["totalCount"] == 2
    assert last["pageInfo"]["hasPreviousPage"] is True and last["pageInfo"]["hasNextPage"] is False
    first = (
        await gql(
            client,
            users_query,
            {"last": 1, "before": last["pageInfo"]["startCursor"]},
            headers=admin.headers,
        )
    )["data"]["users"]
    assert first["nodes"] == [{"databaseId": ada.id}]
    assert (
        first["pageInfo"]["hasPreviousPage"] is False and first["pageInfo"]["hasNextPage"] is True
    )
    second = (
        await gql(
            client,
            users_query,
            {"first": 1, "after": first["pageInfo"]["endCursor"]},
            headers=admin.headers,
        )
    )["data"]["users"]
    assert second["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize(
    "arguments",
    [
        "first: 2, last: 2",
        "after: $c, before: $c",
        "first: 2, before: $c",
        "last: 2, after: $c",
        "last: 0",
        "last: 101",
    ],
)
async def test_mixing_directions_or_a_bad_last_is_bad_user_input(client, ada, arguments):
    page = await _page(client, ada.headers, first=1, order="TITLE_ASC")
    cursor = page["pageInfo"]["endCursor"]
    body = await gql(
        client,
        f"query($c: String) {{ items({arguments}) {{ nodes {{ id }} }} }}",
        {"c": cursor},
        headers=ada.headers,
    )
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_a_cursor_of_another_order_is_bad_user_input(client, ada):
    page = await _page(client, ada.headers, first=1, order="TITLE_ASC")
    body = await gql(
        client,
        PAGE,
        {"last": 2, "before": page["pageInfo"]["endCursor"], "order": "PRICE_DESC"},
        headers=ada.headers,
    )
    assert codes(body) == ["BAD_USER_INPUT"]


NESTED_BACKWARD = """
query($n: Int!) {
  items(last: $n) {
    nodes { title owner { name items(last: 2) { nodes { title } pageInfo { hasPreviousPage } } } }
    pageInfo { hasPreviousPage hasNextPage }
  }
}
"""


async def test_backward_pages_run_the_same_statements_for_2_and_50_items(client, services):
    accounts = [await make_account(services, client) for _ in range(10)]
    for account in accounts:
        for _ in range(6):
            await make_item(client, account)
    with count_statements(services) as small:
        body = await gql(client, NESTED_BACKWARD, {"n": 2}, headers=accounts[0].headers)
    assert "errors" not in body and len(body["data"]["items"]["nodes"]) == 2
    with count_statements(services) as large:
        body = await gql(client, NESTED_BACKWARD, {"n": 50}, headers=accounts[0].headers)
    assert "errors" not in body and len(body["data"]["items"]["nodes"]) == 50
    assert len(small) == len(large) == 3, large  # principal, page with owners, owners' items
