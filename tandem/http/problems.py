"""RFC 9457 problem+json: the one shape of every REST error."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tandem.domain.errors import FieldError

STATUS_FOR_CODE = {
    # First, so that CODE_FOR_STATUS (the last code per status wins) keeps the general ones.
    "IDEMPOTENCY_KEY_IN_USE": 409,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "PRECONDITION_FAILED": 412,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "VALIDATION_FAILED": 422,
    "RATE_LIMITED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}
CODE_FOR_STATUS = {status: code for code, status in STATUS_FOR_CODE.items()}
MEDIA_TYPE = "application/problem+json"


def graphql_errors(message: str, code: str, *, request_id: str | None = None) -> dict[str, Any]:
    """GraphQL's error envelope, for a request refused before any operation ran."""
    extensions: dict[str, Any] = {"code": code}
    if request_id is not None:
        extensions["request_id"] = request_id
    return {"errors": [{"message": message, "extensions": extensions}]}


def code_for_status(status: int) -> str:
    return CODE_FOR_STATUS.get(status, "INTERNAL" if status >= 500 else "BAD_REQUEST")


def request_id_of(scope: Any) -> str | None:
    state = scope.get("state") or {}
    value: str | None = state.get("request_id")
    return value


def problem_body(
    *,
    status: int,
    code: str,
    detail: str,
    request_id: str | None,
    errors: list[FieldError] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = [{"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in errors]
    return orjson.dumps(body)


def problem(
    request: Request,
    *,
    status: int,
    detail: str,
    code: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    content = problem_body(
        status=status,
        code=code or code_for_status(status),
        detail=detail,
        request_id=request_id_of(request.scope),
        errors=errors,
    )
    return Response(content, status_code=status, media_type=MEDIA_TYPE, headers=headers)
