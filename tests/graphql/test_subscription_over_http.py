"""A subscription sent as a plain HTTP request is refused as a request error, never INTERNAL.

Executed as a query, a subscription's field resolves to a stream and came back null:
`Cannot return null for non-nullable field Subscription.itemChanged` (INTERNAL), with a
cost charged. GraphQL over HTTP has no single answer for it; the WebSocket
(graphql-transport-ws) and text/event-stream (graphql-sse) carry subscriptions.
"""

from __future__ import annotations

import pytest

from tests.factories import make_account

SUBSCRIPTION = "subscription { itemChanged { kind item { title } } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.mark.parametrize(
    "body",
    [
        {"query": SUBSCRIPTION},
        {
            "query": "query A { me { name } } subscription B { itemChanged { kind } }",
            "operationName": "B",
        },
    ],
)
async def test_a_subscription_over_post_is_a_400_request_error(client, services, body):
    ada = await make_account(services, client)
    response = await client.post(
        "/graphql", json=body, headers={**ada.headers, "Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    answer = response.json()
    assert "data" not in answer  # nothing ran
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_REQUEST"]
    message = answer["errors"][0]["message"]
    assert "WebSocket" in message and "text/event-stream" in message
    assert "extensions" not in answer  # no cost: nothing was charged


async def test_a_json_only_client_hears_it_as_the_spec_says_legacy_clients_do(client, services):
    ada = await make_account(services, client)
    response = await client.post(
        "/graphql",
        json={"query": SUBSCRIPTION},
        headers={**ada.headers, "Accept": "application/json, multipart/mixed"},
    )
    assert response.status_code == 200
    answer = response.json()
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_query_beside_a_subscription_still_runs(client, services):
    ada = await make_account(services, client)
    body = {
        "query": "query A { me { name } } subscription B { itemChanged { kind } }",
        "operationName": "A",
    }
    response = await client.post("/graphql", json=body, headers=ada.headers)
    assert response.status_code == 200
    assert response.json()["data"] == {"me": {"name": ada.user.name}}
