"""GraphQL over HTTP's media types and status codes, and bad bytes that must not crash it.

The audit suite (tests/clients/test_graphql_http_audit.py) judges the same rules from
outside; these pin what a client sees, case by case, in each media type.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tandem.graphql.media import GRAPHQL_RESPONSE_JSON, JSON, response_media_type
from tests.factories import make_account

GRJ = GRAPHQL_RESPONSE_JSON


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRJ, GRJ),
        (f"{GRJ}, application/json;q=0.9", GRJ),
        (f"application/json, {GRJ}", JSON),
        (f"application/json;q=0.5, {GRJ}", GRJ),
        (f"{GRJ};q=0, application/json", JSON),
        ("text/html", JSON),
        (f"{GRJ}; charset=utf-8", GRJ),
    ],
)
def test_the_answer_is_in_the_media_type_the_client_prefers(accept, expected):
    assert response_media_type(accept) == expected


async def post(client, body, accept: str | None, **headers):
    if accept is not None:
        headers["Accept"] = accept
    return await client.post("/graphql", json=body, headers=headers)


async def test_a_successful_answer_carries_the_accepted_media_type(client, services):
    ada = await make_account(services, client)
    for accept, media_type in ((GRJ, GRJ), ("application/json", JSON), (None, JSON)):
        response = await post(client, {"query": "{ me { name } }"}, accept, **ada.headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert response.json()["data"]["me"]["name"] == ada.user.name


REQUEST_ERRORS = {
    "parse": ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
    "validation": ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
    "coercion": (
        {"query": "query($id: ID!) { item(id: $id) { id } }", "variables": {"id": None}},
        "BAD_USER_INPUT",
    ),
    "too-complex": (
        {"query": "{ me { " + " ".join(f"a{n}: name" for n in range(31)) + " } }"},
        "QUERY_TOO_COMPLEX",
    ),
}


@pytest.mark.parametrize("kind", list(REQUEST_ERRORS))
async def test_a_request_error_is_400_with_no_data_for_graphql_response_json(client, kind):
    body, code = REQUEST_ERRORS[kind]
    response = await post(client, body, GRJ)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRJ
    answer = response.json()
    assert "data" not in answer
    assert [e["extensions"]["code"] for e in answer["errors"]][:1] == [code]


@pytest.mark.parametrize("kind", list(REQUEST_ERRORS))
async def test_a_request_error_is_200_with_no_data_for_plain_json(client, kind):
    body, code = REQUEST_ERRORS[kind]
    response = await post(client, body, "application/json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    answer = response.json()
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == code


async def test_an_error_during_execution_keeps_data_and_200(client, services):
    ada = await make_account(services, client)
    response = await post(
        client, {"query": '{ item(id: "SXRlbTo5OTk5") { id } }'}, GRJ, **ada.headers
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] == {"item": None}
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_batch_answers_200_and_each_request_error_has_no_data(client, services):
    ada = await make_account(services, client)
    response = await client.post(
        "/graphql",
        json=[{"query": "{ me { name } }"}, {"query": "{ nope }"}],
        headers={"Accept": GRJ, **ada.headers},
    )
    assert response.status_code == 200
    good, bad = response.json()
    assert good["data"]["me"]["name"] == ada.user.name
    assert "data" not in bad and bad["errors"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("accept", [GRJ, "application/json"])
async def test_json_nested_10000_deep_in_the_body_is_a_400(client, accept):
    body = '{"query": "{ __typename }", "variables": {"a": ' + nested(10_000) + "}}"
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json", "Accept": accept}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == response_media_type(accept)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "nested too deeply" in error["message"]


async def asgi_get(app, query_string: bytes) -> tuple[int, dict]:
    """A GET straight to the app: its URL is past what httpx agrees to build (64 KiB)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


@pytest.mark.parametrize("parameter", ["variables", "extensions"])
async def test_json_nested_10000_deep_in_get_parameters_is_a_400(app, parameter):
    deep = '{"a":' * 10_000 + "1" + "}" * 10_000
    query_string = urlencode({"query": "{ __typename }", parameter: deep}).encode()
    status, body = await asgi_get(app, query_string)
    assert status == 400
    assert "nested too deeply" in body["errors"][0]["message"]


async def test_invalid_utf8_in_the_body_is_a_400(client):
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename \xff\xfe }"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error == {
        "message": "The request is not valid UTF-8.",
        "extensions": {"code": "BAD_REQUEST"},
    }


async def test_a_lone_surrogate_escape_is_refused_as_not_utf8(client):
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": "{ __typename }", "variables": {"a": "\ud800"}}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The request is not valid UTF-8."


async def test_malformed_json_is_a_400_without_quoting_it(client):
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }", "secret-ish',
        headers={"Content-Type": "application/json", "Accept": GRJ},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == GRJ
    assert "secret-ish" not in response.text


@pytest.mark.parametrize(
    "body", ["null", "1", '"{ __typename }"', "true", '[{"query": "{ __typename }"}, 1]']
)
async def test_a_body_that_is_no_operation_is_a_400(client, body):
    """JSON that is not an object (one operation) nor an array of objects (a batch)."""
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json", "Accept": GRJ}
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "The request body must be a JSON object (one operation) or an "
                "array of them (a batch).",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
