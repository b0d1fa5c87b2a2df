"""A body of a media type its route does not read answers 415, before anything runs."""

from __future__ import annotations

import json

import pytest

from tests.api.assertions import assert_problem
from tests.factories import PASSWORD, make_account

ITEM = json.dumps({"title": "A lamp"}).encode()


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"],
)
async def test_a_json_route_refuses_another_media_type(client, services, content_type):
    ada = await make_account(services, client)
    response = await client.post(
        "/api/v1/items", content=ITEM, headers={**ada.headers, "Content-Type": content_type}
    )
    problem = assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in problem["detail"]
    assert response.headers["accept-post"] == "application/json"
    listed = await client.get("/api/v1/items", headers=ada.headers)
    assert listed.json()["total"] == 0  # nothing was created


async def test_a_body_with_no_content_type_is_refused(client, services):
    ada = await make_account(services, client)
    response = await client.post("/api/v1/items", content=ITEM, headers=ada.headers)
    assert "content-type" not in response.request.headers
    problem = assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "no Content-Type" in problem["detail"]


async def test_a_patch_names_what_it_reads_in_accept_patch(client, services):
    ada = await make_account(services, client)
    response = await client.patch(
        "/api/v1/users/me",
        content=b"name=Ada",
        headers={**ada.headers, "Content-Type": "text/plain"},
    )
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert response.headers["accept-patch"] == "application/json"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/merge-patch+json",
        "application/vnd.tandem+json",
    ],
)
async def test_any_json_media_type_and_charset_is_read(client, services, content_type):
    ada = await make_account(services, client)
    response = await client.post(
        "/api/v1/items", content=ITEM, headers={**ada.headers, "Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


async def test_json_to_the_form_encoded_token_route_is_a_415(client, services):
    ada = await make_account(services, client)
    body = {"grant_type": "password", "username": ada.user.email, "password": PASSWORD}
    response = await client.post("/api/v1/auth/token", json=body)
    problem = assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/x-www-form-urlencoded" in problem["detail"]
    form = await client.post("/api/v1/auth/token", data=body)
    assert form.status_code == 200, form.text


async def test_a_bodyless_request_is_never_refused(client, services):
    ada = await make_account(services, client)
    created = await client.post("/api/v1/items", json={"title": "t"}, headers=ada.headers)
    item = created.json()
    # A DELETE, and a POST that takes no body, sent with a stray Content-Type and no body.
    headers = {**ada.headers, "Content-Type": "text/plain"}
    secret = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://example.com/h", "events": ["*"]},
        headers=ada.headers,
    )
    assert secret.status_code == 201, secret.text
    rotated = await client.post(
        f"/api/v1/webhooks/{secret.json()['id']}/rotate-secret", headers=headers
    )
    assert rotated.status_code == 200, rotated.text
    deleted = await client.delete(f"/api/v1/items/{item['id']}", headers=headers)
    assert deleted.status_code == 204, deleted.text


async def test_an_unknown_route_is_still_a_404_whatever_the_body(client):
    response = await client.post(
        "/api/v1/nowhere", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 404, "NOT_FOUND")
