"""Every REST error rendered once, as problem+json; validation errors never echo input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from tandem.domain.errors import (
    DomainError,
    FieldError,
    InvalidToken,
    Unavailable,
    ValidationFailed,
    clip,
)
from tandem.domain.rate_limits import RateLimited
from tandem.http.problems import (
    STATUS_FOR_CODE,
    code_for_status,
    graphql_errors,
    problem,
    request_id_of,
)
from tandem.http.validation import client_errors, where

CHALLENGE = "WWW-Authenticate"
_logger = logging.getLogger("tandem.faults")


def log_unavailable(error: Unavailable, request_id: str | None) -> None:
    """One line per fault, no traceback: an outage is expected, and a traceback per request
    would bury it."""
    _logger.warning("database unavailable: %s [request_id=%s]", error.cause, request_id)


GRAPHQL_PATH = "/graphql"


async def domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    status = STATUS_FOR_CODE.get(error.code, 500)
    headers: dict[str, str] = {}
    if isinstance(error, InvalidToken):
        headers[CHALLENGE] = 'Bearer error="invalid_token"'
    elif status == 401:
        headers[CHALLENGE] = "Bearer"
    elif isinstance(error, Unavailable):
        headers["Retry-After"] = str(error.retry_after)
        log_unavailable(error, request_id_of(request.scope))
    elif isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)  # the quota: the admission's charge
    if request.url.path.startswith(GRAPHQL_PATH):
        # Raised by the guard before Strawberry runs: answer in GraphQL's own shape.
        body = graphql_errors(error.message, error.code)
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(error, ValidationFailed):
        return invalid(request, where(request, error.errors))
    return problem(request, status=status, code=error.code, detail=error.message, headers=headers)


async def validation_error(request: Request, error: Exception) -> Response:
    """pydantic's refusal in the client's words; never the input (FastAPI's default echoes
    it: a failed registration would return the password)."""
    assert isinstance(error, RequestValidationError)
    return invalid(request, client_errors(request, error.errors()))


def invalid(request: Request, errors: list[FieldError]) -> Response:
    """The one 422, whoever refused the input: the request's parsing or a domain rule."""
    detail = "The request is not valid: " + "; ".join(
        f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors
    )
    return problem(request, status=422, code="VALIDATION_FAILED", detail=detail, errors=errors)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    if status == 400 and isinstance(error.__cause__, UnicodeDecodeError):
        # FastAPI's 400 for a JSON body that is not UTF-8: malformed JSON (RFC 8259 §8.1), so
        # the 422 that any other malformed JSON answers.
        errors = [FieldError(("body",), "is not valid JSON: it must be UTF-8", "json_invalid")]
        detail = "The request is not valid: body: is not valid JSON: it must be UTF-8"
        return problem(request, status=422, code="VALIDATION_FAILED", detail=detail, errors=errors)
    detail = error.detail if isinstance(error.detail, str) else "The request failed."
    if status == 404 and detail == "Not Found":
        detail = f"No route {clip(request.url.path)}."
    headers = dict(error.headers or {})
    if status == 405:
        detail = f"{clip(request.method)} is not allowed on {clip(request.url.path)}."
        # Starlette names only the first matching route's methods; RFC 9110 wants them all.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(
        request,
        status=status,
        code=code_for_status(status),
        detail=detail,
        headers=headers,
    )


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route fully matches at this path, asking the router method by method."""
    base = {
        key: request.scope[key] for key in ("type", "path", "root_path") if key in request.scope
    }
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**base, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
