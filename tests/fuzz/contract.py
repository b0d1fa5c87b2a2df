"""What the contract promises about every response, as schemathesis checks.

Schemathesis' own checks judge a response against the OpenAPI document (status
codes, content types, bodies, headers). These add what the document cannot say:
the shape of every REST error, the OAuth endpoints' own error shape, and the
GraphQL error codes.
"""

from __future__ import annotations

from typing import Any

from schemathesis import Case, CheckContext, Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}
# The contract's table of REST codes, plus what Starlette answers before a route runs.
CODE_FOR_STATUS = {
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}
# The contract's codes that share a status with the general ones (Idempotency-Key answers).
ALSO_FOR_STATUS = {409: {"IDEMPOTENCY_KEY_IN_USE"}, 422: {"IDEMPOTENCY_KEY_REUSED"}}
# RFC 6749 §5.2 / RFC 7009: these two answer `{error, error_description}`, not problem+json.
OAUTH_PATHS = {"/api/v1/auth/token", "/api/v1/auth/revoke"}
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
    "invalid_scope",
}
# GraphQL `extensions.code`s a client may see; INTERNAL is a bug, whatever the query.
GRAPHQL_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "PRECONDITION_FAILED",
    "BAD_USER_INPUT",
    "RATE_LIMITED",
    "QUERY_TOO_COMPLEX",
    "UNAVAILABLE",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "IDEMPOTENCY_KEY_IN_USE",
    "IDEMPOTENCY_KEY_REUSED",
}


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise AssertionError(f"The body is not JSON: {response.content[:200]!r}") from None


def _header(response: Response, name: str) -> str | None:
    values = response.headers.get(name.lower())
    return values[0] if values else None


def request_id_is_sent(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every response, success or error, names its request."""
    assert _header(response, "x-request-id"), "No X-Request-ID header"
    return None


def rest_errors_are_problems(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A REST 4xx/5xx is RFC 9457 problem+json with the contract's keys (OAuth: RFC 6749)."""
    status = response.status_code
    if status < 400 or not response.request.path_url.startswith("/api/"):
        return None
    content_type = (_header(response, "content-type") or "").split(";")[0].strip()
    path = response.request.path_url.split("?")[0]
    body = _json(response)
    assert isinstance(body, dict), f"The error body is not an object: {body!r}"
    if status == 401:
        assert _header(response, "www-authenticate"), "A 401 without WWW-Authenticate"
    if path in OAUTH_PATHS and status in (400, 401):
        assert content_type == "application/json", f"OAuth error sent as {content_type!r}"
        assert set(body) == {"error", "error_description"}, f"Not an RFC 6749 error: {body}"
        assert body["error"] in OAUTH_ERRORS, f"Unknown OAuth error code {body['error']!r}"
        assert isinstance(body["error_description"], str) and body["error_description"]
        return None
    assert content_type == PROBLEM_MEDIA_TYPE, f"A {status} sent as {content_type!r}"
    expected_keys = PROBLEM_KEYS | {"errors"} if status == 422 else PROBLEM_KEYS
    assert set(body) == expected_keys, (
        f"Problem keys {sorted(body)}, expected {sorted(expected_keys)}"
    )
    assert body["status"] == status, f"Problem status {body['status']} on a {status}"
    expected_code = CODE_FOR_STATUS.get(status, "INTERNAL" if status >= 500 else None)
    if expected_code is not None:
        allowed = {expected_code} | ALSO_FOR_STATUS.get(status, set())
        assert body["code"] in allowed, f"Code {body['code']!r} on a {status}"
    assert isinstance(body["title"], str) and body["title"], "Empty title"
    assert isinstance(body["detail"], str) and body["detail"], "Empty detail"
    assert body["request_id"] == _header(response, "x-request-id"), "request_id != X-Request-ID"
    if status == 422:
        assert isinstance(body["errors"], list) and body["errors"], "A 422 without field errors"
        for error in body["errors"]:
            assert set(error) == {"loc", "msg", "type"}, f"Field error keys {sorted(error)}"
    if status in (429, 503):
        assert _header(response, "retry-after"), f"A {status} without Retry-After"
    return None


def graphql_answers_with_codes(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A GraphQL answer is a JSON object whose every error has a known, non-INTERNAL code."""
    assert response.status_code < 500, f"GraphQL answered {response.status_code}"
    body = _json(response)
    assert isinstance(body, dict), f"The GraphQL body is not an object: {body!r}"
    assert set(body) <= {"data", "errors", "extensions"}, f"Unexpected keys {sorted(body)}"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in GRAPHQL_CODES, f"Error code {code!r}: {error.get('message')!r}"
    return None
