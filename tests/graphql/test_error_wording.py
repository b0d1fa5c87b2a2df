"""The same domain error in the same words on both faces; each names the field its own way.

REST locates a field in the request (`["body", "title"]`), GraphQL in the operation's
arguments (`["input", "title"]`); the message (`must be 1 to 200 characters`) and the
not-found sentence (`No item with id …`, with the id each face's client sent) are one.
"""

from __future__ import annotations

from typing import Any

import pytest

from tandem.domain import global_ids
from tests.api.assertions import assert_problem
from tests.factories import make_account, make_item
from tests.graphql.helpers import codes, gql

CREATE = "mutation($input: CreateItemInput!) { createItem(input: $input) { id } }"
UPDATE_ME = "mutation($input: UpdateMeInput!) { updateMe(input: $input) { name } }"
ITEM = "query($id: ID!) { item(id: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteItem(id: $id) }"


def field_errors(body: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    assert codes(body) == ["BAD_USER_INPUT"], body
    return [(e["loc"], e["msg"]) for e in body["errors"][0]["extensions"]["errors"]]


@pytest.mark.parametrize(
    ("rest_body", "graphql_input", "fields"),
    [
        ({"title": " "}, {"title": " "}, [(["title"], "must be 1 to 200 characters")]),
        (
            {"title": "t", "tags": ["a"] * 21},
            {"title": "t", "tags": ["a"] * 21},
            [(["tags"], "must have at most 20 entries")],
        ),
        (
            {"title": "t", "price": "1.999"},
            {"title": "t", "price": "1.999"},
            [(["price"], 'must be a decimal string with at most 2 places, such as "19.99"')],
        ),
        (
            {"title": "t", "description": "\x00"},
            {"title": "t", "description": "\x00"},
            [(["description"], "must not contain the NUL character")],
        ),
    ],
)
async def test_an_item_input_is_refused_in_the_same_words_on_both_faces(
    client, services, rest_body, graphql_input, fields
):
    ada = await make_account(services, client)
    rest = await client.post("/api/v1/items", json=rest_body, headers=ada.headers)
    problem = assert_problem(rest, 422, "VALIDATION_FAILED")
    body = await gql(client, CREATE, {"input": graphql_input}, headers=ada.headers)
    assert [(e["loc"], e["msg"]) for e in problem["errors"]] == [
        (["body", *loc], msg) for loc, msg in fields
    ]
    assert field_errors(body) == [(["input", *loc], msg) for loc, msg in fields]
    # The sentence a person reads is the same too, but for where the field sat.
    assert body["errors"][0]["message"] == problem["detail"].replace("body.", "input.")


async def test_a_password_rule_names_the_camel_case_field_on_graphql(client, services):
    ada = await make_account(services, client)
    rest = await client.patch(
        "/api/v1/users/me", json={"password": "a new password"}, headers=ada.headers
    )
    problem = assert_problem(rest, 422, "VALIDATION_FAILED")
    body = await gql(
        client, UPDATE_ME, {"input": {"password": "a new password"}}, headers=ada.headers
    )
    assert problem["errors"][0]["loc"] == ["body", "current_password"]
    assert field_errors(body) == [
        (["input", "currentPassword"], "is required to set a new password")
    ]
    assert problem["errors"][0]["msg"] == field_errors(body)[0][1]


async def test_a_short_password_is_one_rule_on_both_faces(client, services):
    ada = await make_account(services, client)
    rest = await client.patch(
        "/api/v1/users/me",
        json={"password": "short", "current_password": "x"},
        headers=ada.headers,
    )
    problem = assert_problem(rest, 422, "VALIDATION_FAILED")
    variables = {"input": {"password": "short", "currentPassword": "x"}}
    body = await gql(client, UPDATE_ME, variables, headers=ada.headers)
    assert problem["errors"][0]["msg"] == "must be 8 to 128 characters"
    assert field_errors(body) == [(["input", "password"], "must be 8 to 128 characters")]


async def test_a_search_order_without_a_search_names_order_by(client, services):
    ada = await make_account(services, client)
    query = "query { items(orderBy: RELEVANCE) { totalCount } }"
    rest = await client.get("/api/v1/items", params={"sort": "relevance"}, headers=ada.headers)
    problem = assert_problem(rest, 422, "VALIDATION_FAILED")
    body = await gql(client, query, headers=ada.headers)
    assert problem["errors"][0]["loc"] == ["query", "sort"]
    assert field_errors(body) == [(["orderBy"], problem["errors"][0]["msg"])]


async def test_a_missing_item_is_one_sentence_on_both_faces(client, services):
    ada = await make_account(services, client)
    rest = await client.get("/api/v1/items/9999", headers=ada.headers)
    problem = assert_problem(rest, 404, "NOT_FOUND")
    node_id = global_ids.encode("Item", 9999)
    body = await gql(client, ITEM, {"id": node_id}, headers=ada.headers)
    assert problem["detail"] == "No item with id 9999."
    assert codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["message"] == f"No item with id {node_id}."


@pytest.mark.parametrize("sent", ["not-an-id", global_ids.encode("User", 1)])
async def test_an_id_of_no_item_is_the_same_sentence(client, services, sent):
    ada = await make_account(services, client)
    await make_item(client, ada)
    body = await gql(client, DELETE, {"id": sent}, headers=ada.headers)
    assert codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["message"] == f"No item with id {sent}."
    read = await gql(client, ITEM, {"id": sent}, headers=ada.headers)
    assert codes(read) == ["NOT_FOUND"]
    assert read["errors"][0]["message"] == f"No item with id {sent}."


@pytest.mark.parametrize(
    ("rest_body", "graphql_input", "rest_field", "graphql_field", "msg"),
    [
        ({"title": 5}, {"title": 5}, ["body", "title"], ["input", "title"], "must be a string"),
        ({}, {}, ["body", "title"], ["input", "title"], "is required"),
        (
            {"title": "t", "colour": "red"},
            {"title": "t", "colour": "red"},
            ["body", "colour"],
            ["input", "colour"],
            "is not allowed",
        ),
        (
            {"title": "t", "tags": [1]},
            {"title": "t", "tags": [1]},
            ["body", "tags", 0],
            ["input", "tags", 0],
            "must be a string",
        ),
    ],
)
async def test_a_variable_that_does_not_coerce_is_named_in_the_same_words(
    client, services, rest_body, graphql_input, rest_field, graphql_field, msg
):
    ada = await make_account(services, client)
    rest = await client.post("/api/v1/items", json=rest_body, headers=ada.headers)
    problem = assert_problem(rest, 422, "VALIDATION_FAILED")
    body = await gql(client, CREATE, {"input": graphql_input}, headers=ada.headers)
    assert [(e["loc"], e["msg"]) for e in problem["errors"]] == [(rest_field, msg)]
    assert field_errors(body) == [(graphql_field, msg)]
    assert "data" not in body  # a request error: nothing ran
