"""A list of items reads only the columns its selection reads, and answers as if it read all.

tandem/graphql/projection.py: each field of `Item` and `User` says which record fields it
reads; a connection's statement selects those columns, its records and nodes hold only them.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType

from tandem.graphql.items.types import ITEM
from tandem.graphql.schema import build_schema
from tandem.graphql.users.types import USER
from tests.factories import Account, make_account, make_item
from tests.graphql.helpers import gql
from tests.statements import count_statements

ITEM_FIELDS = "id databaseId title description price tags status createdAt updatedAt version"
USER_FIELDS = "id databaseId name createdAt email role"
ORDERS = ["CREATED_AT_DESC", "TITLE_ASC", "PRICE_DESC", "RELEVANCE"]


def _field_names(type_name: str) -> set[str]:
    kind = build_schema()._schema.get_type(type_name)
    assert isinstance(kind, GraphQLObjectType)
    return set(kind.fields)


def test_every_field_of_item_and_user_says_what_it_reads() -> None:
    """A field that said nothing would make every list read whole records, unnoticed."""
    assert _field_names("Item") <= set(ITEM.field_reads)
    assert _field_names("User") <= set(USER.field_reads)
    # Only `User.items` reads the whole record: it hands it on as its items' owner.
    whole = {name for name, reads in USER.field_reads.items() if reads is None}
    assert whole == {"items"}
    assert None not in ITEM.field_reads.values()


async def _world(client: Any, services: Any) -> tuple[Account, Account]:
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    for number, (owner, price) in enumerate([(ada, "3.50"), (bob, None), (ada, "12.00")] * 3):
        await make_item(
            client,
            owner,
            title=f"Lamp {number}",
            description=f"A lamp, number {number}" if number % 2 else None,
            price=price,
            tags=["light", f"n{number}"],
        )
    await make_item(client, ada, title="Lamp draft", status="draft")
    return ada, bob


def _connection(order: str, selection: str, after: str | None = None) -> str:
    search = ', filter: {q: "lamp"}' if order == "RELEVANCE" else ""
    position = f', after: "{after}"' if after else ""
    return f"{{ items(first: 4, orderBy: {order}{search}{position}) {{ {selection} }} }}"


def _whole(order: str, after: str | None = None) -> str:
    node = f"{ITEM_FIELDS} owner {{ {USER_FIELDS} }}"
    return _connection(
        order,
        f"nodes {{ {node} }} edges {{ cursor node {{ {node} }} }} "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }",
        after,
    )


def _only(answer: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {key: answer[key] for key in keys}


@pytest.mark.parametrize("order", ORDERS)
async def test_each_field_alone_answers_as_when_every_field_is_read(
    client: Any, services: Any, order: str
) -> None:
    ada, _ = await _world(client, services)
    whole = (await gql(client, _whole(order), headers=ada.headers))["data"]["items"]
    assert len(whole["nodes"]) == 4 and whole["pageInfo"]["hasNextPage"]

    for field in ITEM_FIELDS.split():
        body = await gql(client, _connection(order, f"nodes {{ {field} }}"), headers=ada.headers)
        assert body["data"]["items"]["nodes"] == [_only(n, [field]) for n in whole["nodes"]]
    for field in USER_FIELDS.split():  # the owner's email and role: shown on ada's own items
        selection = f"nodes {{ owner {{ {field} }} }}"
        body = await gql(client, _connection(order, selection), headers=ada.headers)
        expected = [{"owner": _only(n["owner"], [field])} for n in whole["nodes"]]
        assert body["data"]["items"]["nodes"] == expected

    # Cursors alone, through a fragment and an inline fragment, and a page after one.
    selection = (
        "edges { cursor node { ...Named } } pageInfo { endCursor } "
        "nodes { ... on Item { price owner { ... on User { name } } } } "
    )
    body = await gql(
        client,
        _connection(order, selection) + " fragment Named on Item { title }",
        headers=ada.headers,
    )
    partial = body["data"]["items"]
    assert partial["edges"] == [
        {"cursor": edge["cursor"], "node": {"title": edge["node"]["title"]}}
        for edge in whole["edges"]
    ]
    assert partial["pageInfo"]["endCursor"] == whole["pageInfo"]["endCursor"]
    assert partial["nodes"] == [
        {"price": n["price"], "owner": {"name": n["owner"]["name"]}} for n in whole["nodes"]
    ]
    cursor = whole["pageInfo"]["endCursor"]
    after = await gql(client, _connection(order, "nodes { title }", cursor), headers=ada.headers)
    whole_after = await gql(client, _whole(order, cursor), headers=ada.headers)
    titles = [{"title": n["title"]} for n in whole_after["data"]["items"]["nodes"]]
    assert after["data"]["items"]["nodes"] == titles and titles


async def test_a_list_selects_only_the_columns_its_selection_reads(
    client: Any, services: Any
) -> None:
    ada, bob = await _world(client, services)
    query = "{ items(first: 5) { nodes { title price owner { name } } } }"
    with count_statements(services) as statements:
        body = await gql(client, query, headers=bob.headers)
    assert len(body["data"]["items"]["nodes"]) == 5
    (page,) = [sql for sql in statements if "FROM items JOIN users" in sql]
    columns = page.split("FROM items")[0]
    for needed in ("items.title", "items.price", "users.name", "items.id"):
        assert needed in columns, page
    for unread in ("items.description", "items.created_at", "items.updated_at", "users.email"):
        assert unread not in columns, page
    # Cursors hold the sort value: read when the connection makes cursors, only then.
    for selection, reads_sort_value in [
        ("nodes { title }", False),
        ("edges { node { title } }", True),
        ("edges { cursor }", True),
        ("pageInfo { hasNextPage }", True),
    ]:
        with count_statements(services) as statements:
            body = await gql(
                client, f"{{ items(first: 5) {{ {selection} }} }}", headers=bob.headers
            )
        assert "errors" not in body, body
        (page,) = [sql for sql in statements if "FROM items" in sql and "LIMIT" in sql]
        assert ("items.created_at" in page.split("FROM items")[0]) is reads_sort_value, page

    # An owner asked only for its type still comes from the page's own statement.
    typed = "{ items(first: 5) { nodes { owner { __typename } } } }"
    body = await gql(client, typed, headers=bob.headers)
    assert body["data"]["items"]["nodes"] == [{"owner": {"__typename": "User"}}] * 5, body

    # A user's items, reached through a list's owners, still read what they are asked for.
    nested = (
        "{ items(first: 3) { nodes { owner { email "
        "items(first: 2) { nodes { owner { email } } } } } } }"
    )
    body = await gql(client, nested, headers=ada.headers)
    for node in body["data"]["items"]["nodes"]:
        inner = node["owner"]["items"]["nodes"]
        assert all(item["owner"]["email"] == node["owner"]["email"] for item in inner)
