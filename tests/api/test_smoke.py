from tests.factories import make_account, make_item


async def test_a_member_creates_and_reads_an_item(client, services):
    ada = await make_account(services, client)
    item = await make_item(client, ada, price="19.99", tags=["a"])
    response = await client.get(f"/api/v1/items/{item['id']}", headers=ada.headers)
    assert response.status_code == 200
    assert response.json()["price"] == "19.99"
    assert response.json()["owner_id"] == ada.id
