"""What every REST error looks like to a client, checked in one place."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with exactly the contract's keys (plus `errors` on a 422)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    expected = PROBLEM_KEYS | {"errors"} if status == 422 else PROBLEM_KEYS
    assert set(body) == expected, body
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 422:
        assert body["errors"], body
        for error in body["errors"]:
            assert set(error) == {"loc", "msg", "type"}, error
    return body


def error_locs(response: httpx.Response) -> list[tuple[str | int, ...]]:
    """The `loc` of every field error in a 422, as tuples."""
    return [tuple(error["loc"]) for error in response.json()["errors"]]


def assert_unauthenticated(response: httpx.Response, *, bad_token: bool) -> None:
    """401: a bad token names `invalid_token` in its challenge; a missing one does not."""
    assert_problem(response, 401, "UNAUTHENTICATED")
    challenge = 'Bearer error="invalid_token"' if bad_token else "Bearer"
    assert response.headers["www-authenticate"] == challenge
