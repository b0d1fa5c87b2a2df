"""Answers the fuzzer found outside the OpenAPI document, and what the server answers now."""

from __future__ import annotations

from tests.api.assertions import assert_problem
from tests.factories import make_account, make_item


async def test_a_body_that_is_not_utf_8_is_malformed_json_a_422(client, services):
    member = await make_account(services, client)
    response = await client.post(
        "/api/v1/items",
        content=b'{"title": "L\xe4mp"}',  # Latin-1, not UTF-8
        headers={**member.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"] == [
        {"loc": ["body"], "msg": "is not valid JSON: it must be UTF-8", "type": "json_invalid"}
    ]


async def test_a_price_is_a_decimal_string_and_a_json_number_is_refused(client, services):
    member = await make_account(services, client)
    number = await client.post(
        "/api/v1/items", json={"title": "Lamp", "price": 19.99}, headers=member.headers
    )
    body = assert_problem(number, 422, "VALIDATION_FAILED")
    assert [e["loc"] for e in body["errors"]] == [["body", "price"]]
    for bad in ("-1", "1.999", "1e3", "01.5"):
        refused = await client.post(
            "/api/v1/items", json={"title": "Lamp", "price": bad}, headers=member.headers
        )
        assert refused.status_code == 422, bad
    created = await client.post(
        "/api/v1/items", json={"title": "Lamp", "price": "19.9"}, headers=member.headers
    )
    assert created.status_code == 201 and created.json()["price"] == "19.90"


async def test_an_if_match_naming_a_version_past_year_9999_is_412_not_a_crash(client, services):
    member = await make_account(services, client)
    user_id = member.user.id
    tag = f'"user-{user_id}-{10**20}-private"'
    response = await client.patch(
        "/api/v1/users/me", json={"name": "Ada"}, headers={**member.headers, "If-Match": tag}
    )
    assert_problem(response, 412, "PRECONDITION_FAILED")


async def test_if_match_is_read_from_the_header_as_documented(client, services):
    member = await make_account(services, client)
    item = await make_item(client, member)
    read = await client.get(f"/api/v1/items/{item['id']}", headers=member.headers)
    stale = {**member.headers, "If-Match": f'"item-{item["id"]}-v0"'}
    refused = await client.patch(f"/api/v1/items/{item['id']}", json={"title": "B"}, headers=stale)
    assert_problem(refused, 412, "PRECONDITION_FAILED")
    current = {**member.headers, "If-Match": read.headers["etag"]}
    changed = await client.patch(
        f"/api/v1/items/{item['id']}", json={"title": "B"}, headers=current
    )
    assert changed.status_code == 200, changed.text
