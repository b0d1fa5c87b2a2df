"""What the OpenAPI document says a REST route answers besides its success.

A route names the problems its own rules give (`problems(404, 412, body=True)`); the ones
every REST route can give (401 for a bad token, 429 for the call charge, 503 for the
database) are added here, so no route can forget them. Each entry is the RFC 9457 schema
under `application/problem+json`, with the headers that answer carries.
"""

from __future__ import annotations

from typing import Any

from tandem.http.problems import MEDIA_TYPE

PROBLEM = "#/components/schemas/Problem"
VALIDATION_PROBLEM = "#/components/schemas/ValidationProblem"
OAUTH_ERROR = "#/components/schemas/OAuthErrorBody"

Responses = dict[int | str, dict[str, Any]]


def header(description: str, schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}, **extra}


RETRY_AFTER = header(
    "Seconds to wait before trying again", {"type": "integer", "minimum": 0}, required=True
)
CHALLENGE = header(
    'RFC 6750: `Bearer`, or `Bearer error="invalid_token"` for a bad, expired or revoked token',
    required=True,
)
BASIC_CHALLENGE = header(
    '`Basic realm="tandem"` when client authentication failed; `Bearer '
    'error="invalid_token"` for a bad bearer token',
    required=True,
)
ETAG = header("A strong validator: send it as `If-Match` or `If-None-Match`", required=True)
LOCATION = header("The new resource's URL", {"type": "string", "format": "uri"}, required=True)
LINK = header('RFC 8288: `<…>; rel="next"`, when a next page exists')

# The wording of each problem a route may answer; the codes are the contract's table.
_PROBLEMS: dict[int, str] = {
    400: "The body could not be read",
    401: "UNAUTHENTICATED: no token where one is needed, or a bad, expired or revoked one",
    403: "FORBIDDEN: the token lacks the scope, or the caller the role",
    404: "NOT_FOUND: no such resource, or one the caller may not see",
    409: "CONFLICT, or IDEMPOTENCY_KEY_IN_USE while a request with the same key is in flight",
    412: "PRECONDITION_FAILED: `If-Match` names no current ETag",
    413: "PAYLOAD_TOO_LARGE: the body is over 1 MiB",
    415: "UNSUPPORTED_MEDIA_TYPE: the body is not of the media type this route reads",
    422: "VALIDATION_FAILED (each field's problem in `errors`), or IDEMPOTENCY_KEY_REUSED",
    429: "RATE_LIMITED: the caller's budget is spent until `Retry-After`",
    503: "UNAVAILABLE: the database is unreachable or busy; retry after `Retry-After`",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": CHALLENGE},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}
# What any REST route may answer: the guard (401), the call charge (429), the database (503).
EVERY_ROUTE = (401, 429, 503)
# What reading a body may answer.
WITH_BODY = (413, 415, 422)


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    schema = VALIDATION_PROBLEM if status == 422 else PROBLEM
    response: dict[str, Any] = {
        "description": description or _PROBLEMS[status],
        "content": {MEDIA_TYPE: {"schema": {"$ref": schema}}},
    }
    if status in _HEADERS:
        response["headers"] = dict(_HEADERS[status])
    return response


def problems(*statuses: int, body: bool = False) -> Responses:
    """The `responses` of a route: the statuses given, and those every REST route may answer.

    `body=True` for a route that reads a JSON body (413, 415, 422); a route whose query or
    path can be invalid names 422 itself.
    """
    wanted = {*statuses, *EVERY_ROUTE, *(WITH_BODY if body else ())}
    return {status: problem_response(status) for status in sorted(wanted)}


def oauth_errors() -> Responses:
    """RFC 6749 §5.2 for the token and revocation endpoints: `{error, error_description}`.

    What fails before the endpoint runs (a huge body, the call charge, the database) is
    still a problem document.
    """
    oauth = {"application/json": {"schema": {"$ref": OAUTH_ERROR}}}
    return {
        400: {"description": "RFC 6749 §5.2 error", "content": oauth},
        401: {
            "description": "RFC 6749 §5.2 `invalid_client`: client authentication failed",
            "content": oauth,
            "headers": {"WWW-Authenticate": BASIC_CHALLENGE},
        },
        413: problem_response(413),
        415: problem_response(415, "UNSUPPORTED_MEDIA_TYPE: the body is not a form"),
        429: problem_response(
            429, "RATE_LIMITED: too many calls, or too many failed sign-ins for this account"
        ),
        503: problem_response(503),
    }


# Conditional reads: `conditional` (responses.py) reads If-None-Match itself, so the reads
# only document it; a parsed parameter would cost FastAPI's machinery on every read.
IF_NONE_MATCH = "An ETag from an earlier read: 304 while it is still current"
CONDITIONAL_READ: dict[str, Any] = {
    "parameters": [
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": IF_NONE_MATCH,
            "schema": {"type": "string"},
        }
    ]
}
NOT_MODIFIED: Responses = {
    304: {
        "description": "Not Modified: the copy `If-None-Match` names is current (no body)",
        "headers": {"ETag": ETAG},
    }
}


def success_headers(status: int, **headers: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` naming the headers of a route's success answer."""
    return {"responses": {str(status): {"headers": headers}}}


# Marks a route that needs no token (the guard still refuses a bad one); `document.finish`
# turns it into the operation's security requirements.
ANONYMOUS = "x-anonymous"
PUBLIC: dict[str, Any] = {ANONYMOUS: True}
