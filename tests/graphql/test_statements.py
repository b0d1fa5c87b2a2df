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
    # The guard's principal lookup, the page with its owners (one join), their items, their
    # item counts.
    assert len(large) == 4, large


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


async def test_an_item_and_its_owner_come_from_one_statement(client, services):
    ada, bob = await _world(client, services, owners=2, items_each=1)
    item = (await client.get("/api/v1/items", headers=ada.headers)).json()["items"][-1]
    query = "query($id: ID!) { item(id: $id) { title owner { name } } }"
    with count_statements(services) as statements:
        body = await gql(client, query, {"id": item["node_id"]}, headers=bob.headers)
    owner = (await client.get(f"/api/v1/users/{item['owner_id']}", headers=ada.headers)).json()
    assert body["data"]["item"] == {"title": item["title"], "owner": {"name": owner["name"]}}
    # The guard's principal lookup, then the item joined to its owner.
    assert len(statements) == 2, statements


async def test_a_draft_and_its_owner_stay_hidden_from_others(client, services):
    ada, bob = await _world(client, services, owners=2, items_each=0)
    draft = await make_item(client, ada, status="draft")
    query = "query($id: ID!) { item(id: $id) { owner { name } } }"
    hidden = await gql(client, query, {"id": draft["node_id"]}, headers=bob.headers)
    assert hidden["data"]["item"] is None
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    listed = await gql(
        client, "{ items(first: 50) { nodes { id owner { name } } } }", headers=bob.headers
    )
    assert draft["node_id"] not in [node["id"] for node in listed["data"]["items"]["nodes"]]
    own = await gql(client, query, {"id": draft["node_id"]}, headers=ada.headers)
    assert own["data"]["item"]["owner"]["name"] == ada.user.name
