"""The number of SQL statements a GraphQL request runs does not grow with the page size."""

from tandem.domain import global_ids
from tests.factories import make_account, make_item
from tests.graphql.helpers import gql
from tests.statements import count_statements

NESTED = """
query($n: Int!) {
  items(first: $n) {
    nodes {
      title
      owner { name items(first: 2) { totalCount nodes { title price } } }
    }
  }
}
"""


async def _world(client, services, *, owners: int, items_each: int):
    accounts = [await make_account(services, client) for _ in range(owners)]
    for account in accounts:
        for _ in range(items_each):
            await make_item(client, account, price="1.00")
    return accounts


async def test_a_nested_list_runs_the_same_statements_for_2_and_50_items(client, services):
    accounts = await _world(client, services, owners=10, items_each=6)
    viewer = accounts[0]

    with count_statements(services) as small:
        body = await gql(client, NESTED, {"n": 2}, headers=viewer.headers)
    assert "errors" not in body and len(body["data"]["items"]["nodes"]) == 2

    with count_statements(services) as large:
        body = await gql(client, NESTED, {"n": 50}, headers=viewer.headers)
    assert "errors" not in body and len(body["data"]["items"]["nodes"]) == 50
    owners = {node["owner"]["name"] for node in body["data"]["items"]["nodes"]}
    assert len(owners) >= 9  # the 50 items really span many owners

    assert len(small) == len(large)
    # The guard's principal lookup, the page, the owners, their items, their item counts.
    assert len(large) == 5, large


async def test_node_and_nodes_batch_their_lookups(client, services):
    accounts = await _world(client, services, owners=3, items_each=4)
    ids = []
    for account in accounts:
        listed = await client.get(
            "/api/v1/items", params={"owner_id": account.id}, headers=account.headers
        )
        ids += [item["node_id"] for item in listed.json()["items"]]
        ids.append(global_ids.encode("User", account.id))
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Item { owner { name } } } }"
    with count_statements(services) as statements:
        body = await gql(client, query, {"ids": ids}, headers=accounts[0].headers)
    assert [node["id"] for node in body["data"]["nodes"]] == ids
    # Principal, items by id, users by id (owners and the users asked for, in one batch).
    assert len(statements) == 3, statements
