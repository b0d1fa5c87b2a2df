"""Bad input on both faces: odd digits in global ids, huge ids, long paths, HEAD probes."""

from __future__ import annotations

import base64

import httpx
import pytest

from tandem.domain.services import Services
from tests.factories import make_account, make_item
from tests.graphql.helpers import codes, gql

SUPERSCRIPT_TWO = base64.b64encode("Item:²".encode()).decode()  # isdigit(), yet int() refuses it
ARABIC_THREE = base64.b64encode("Item:٣".encode()).decode()  # isdigit(), and int() reads 3
USER_TWO = base64.b64encode("User:²".encode()).decode()


@pytest.mark.parametrize("global_id", [SUPERSCRIPT_TWO, ARABIC_THREE])
async def test_global_ids_take_ascii_digits_only(
    client: httpx.AsyncClient, services: Services, global_id: str
) -> None:
    account = await make_account(services, client)
    for _ in range(3):  # items 1..3 exist: item 3 must not be found through "٣"
        await make_item(client, account)
    headers = account.headers
    for field in ("item", "user"):
        some_id = global_id if field == "item" else USER_TWO
        body = await gql(client, f'{{ {field}(id: "{some_id}") {{ id }} }}', headers=headers)
        assert body["data"] == {field: None}
        assert codes(body) == ["NOT_FOUND"]
    body = await gql(client, f'{{ node(id: "{global_id}") {{ id }} }}', headers=headers)
    assert body["data"] == {"node": None} and "errors" not in body
    body = await gql(client, f'{{ nodes(ids: ["{global_id}"]) {{ id }} }}', headers=headers)
    assert body["data"] == {"nodes": [None]} and "errors" not in body
    body = await gql(client, f'mutation {{ deleteItem(id: "{global_id}") }}', headers=headers)
    assert codes(body) == ["NOT_FOUND"]
    body = await gql(
        client,
        f'{{ items(filter: {{ownerId: "{USER_TWO}"}}) {{ totalCount }} }}',
        headers=headers,
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    # Item 3 is still there, and REST reads path ids as ASCII too.
    assert (await client.get("/api/v1/items/3", headers=headers)).status_code == 200
    for odd in ("٣", "²"):
        answer = await client.get(f"/api/v1/items/{odd}", headers=headers)
        assert answer.status_code in (404, 422), answer.text


async def test_a_huge_id_in_twenty_aliases_gets_a_small_answer(
    client: httpx.AsyncClient, services: Services
) -> None:
    account = await make_account(services, client)
    huge = "A" * 1_000_000
    aliases = " ".join(f"a{n}: item(id: $id) {{ id }}" for n in range(20))
    query = f"query Huge($id: ID!) {{ {aliases} }}"
    answer = await client.post(
        "/graphql", json={"query": query, "variables": {"id": huge}}, headers=account.headers
    )
    assert answer.status_code == 200
    assert len(answer.content) < 20_000, len(answer.content)
    body = answer.json()
    assert codes(body) == ["NOT_FOUND"] * 20
    for error in body["errors"]:
        assert len(error["message"]) < 200
    # The same id written into the document, and a field name no schema has.
    literal = await client.post(
        "/graphql",
        json={"query": f'{{ item(id: "{"B" * 900_000}") {{ id }} }}'},
        headers=account.headers,
    )
    assert len(literal.content) < 5_000
    unknown = await client.post(
        "/graphql", json={"query": f"{{ {'c' * 900_000} }}"}, headers=account.headers
    )
    assert codes(unknown.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    assert len(unknown.content) < 5_000


async def test_rest_errors_do_not_echo_a_long_path(client: httpx.AsyncClient) -> None:
    path = "/api/v1/" + "x" * 50_000
    for method in ("GET", "PUT"):
        answer = await client.request(method, path)
        assert answer.status_code == 404
        assert len(answer.content) < 2_000
        assert "x" * 101 not in answer.text
    answer = await client.request("PUT", "/api/v1/items")  # a wrong method on a real route
    assert answer.status_code == 405
    body = {"title": "ok", "y" * 10_000: 1}
    answer = await client.post("/api/v1/auth/register", json=body)
    assert answer.status_code == 422
    assert "y" * 101 not in answer.text


async def test_health_probes_answer_head(client: httpx.AsyncClient) -> None:
    for path, expected in (("/healthz", 200), ("/readyz", 200)):
        get = await client.get(path)
        head = await client.head(path)
        assert (get.status_code, head.status_code) == (expected, expected)
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
