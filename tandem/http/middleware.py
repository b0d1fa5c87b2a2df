"""Pure ASGI middleware: cheap on every request, unlike BaseHTTPMiddleware.

`RequestContext` names each request (X-Request-ID), opens its admission
(tandem/http/admission.py), names the API version that served a REST answer
(`Tandem-Version`, refusing an unknown one with 400), caps bodies, and turns a crash
into one logged line and a problem+json 500 that leaks nothing.
`MediaTypes` refuses a REST body of a media type its route does not read (415).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.domain import reads
from tandem.domain.rate_limits import Quota
from tandem.http.admission import open_admission
from tandem.http.deprecation import deprecation_headers
from tandem.http.problems import MEDIA_TYPE, graphql_errors, problem_body
from tandem.http.versions import HEADER_KEY

_logger = logging.getLogger("tandem.api")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_BODY_BYTES = 1024 * 1024
NOSNIFF = (b"x-content-type-options", b"nosniff")
# An answer to a signed-in caller is theirs alone: no shared cache may keep it, and a
# client's copy is revalidated (If-None-Match) before reuse.
PRIVATE = (b"cache-control", b"private, no-cache")
GRAPHQL_PATH = "/graphql"
# The message uvicorn cancels a request's task with once the graceful shutdown times out.
SHUTDOWN_CANCEL = "graceful shutdown exceeded"


class BodyTooLarge(Exception):
    pass


_READ_METHODS = frozenset(("GET", "HEAD"))  # a GraphQL POST says so per operation


class RequestContext:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        timeout_seconds: float | None = None,
        versioned_prefix: str | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        # Answers under this prefix (the REST face) say which dated version served them.
        self.versioned_prefix = versioned_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if reads.enabled and scope["type"] == "http":
            # Read replicas: where this request's reads may go (tandem/domain/reads.py).
            opened = reads.open_route(read_only=scope["method"] in _READ_METHODS)
            try:
                await self._call(scope, receive, send)
            finally:
                reads.close_route(opened)
            return
        await self._call(scope, receive, send)

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id  # for the log lines of every layer
        admission = open_admission(scope, request_id=request_id)
        header = (b"x-request-id", request_id.encode())
        authorized = any(name == b"authorization" for name, _ in scope["headers"])
        versioned = self.versioned_prefix is not None and scope.get("path", "").startswith(
            self.versioned_prefix
        )
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    *message.get("headers", []),
                    header,
                    NOSNIFF,
                    *_quota_headers(admission.quota),
                    *deprecation_headers(state),
                ]
                if authorized and not any(name == b"cache-control" for name, _ in headers):
                    headers.append(PRIVATE)
                if versioned:  # the answer's own version: after the guard found the caller
                    headers.append((HEADER_KEY, admission.version.encode()))
                message["headers"] = headers
            await send(message)

        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        if versioned and admission.version_refused is not None:
            await _send_problem(
                send_with_id, 400, "UNKNOWN_VERSION", admission.version_refused, request_id
            )
            return

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse_too_large(send_with_id, request_id)
            return

        received = 0
        overflowed = False

        async def capped_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    overflowed = True
                    raise BodyTooLarge
            return message

        async def send_capped(message: Message) -> None:
            # FastAPI turns any error while reading a body into its own 400; whatever the app
            # answers to a body cut short, the client hears 413.
            if not overflowed:
                await send_with_id(message)
            elif message["type"] == "http.response.start" and not started:
                await self._refuse_too_large(send_with_id, request_id)

        # An event stream (graphql-sse) is meant to stay open: the wall clock does not apply.
        timeout = None if _is_event_stream(scope) else self.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                await self.app(scope, capped_receive, send_capped)
        except TimeoutError:
            _logger.warning("request timed out [request_id=%s]", request_id)
            if not started:
                # GraphQL clients read `errors[].extensions.code`, not a problem document.
                answer = _send_graphql_error if _is_graphql(scope) else _send_problem
                await answer(
                    send_with_id,
                    503,
                    "UNAVAILABLE",
                    f"The request took longer than {self.timeout_seconds} s and was stopped.",
                    request_id,
                    retry_after=5,
                )
        except BodyTooLarge:
            if not started:
                await self._refuse_too_large(send_with_id, request_id)
        except asyncio.CancelledError as cancelled:
            # uvicorn cancels what is still running when SHUTDOWN_GRACE_SECONDS runs out: the
            # client hears 503 (retry elsewhere), not a dropped connection and a traceback.
            # Any other cancellation is not ours to absorb.
            if SHUTDOWN_CANCEL not in str(cancelled):
                raise
            _logger.warning("request cut short by shutdown [request_id=%s]", request_id)
            if not started:
                answer = _send_graphql_error if _is_graphql(scope) else _send_problem
                await answer(
                    send_with_id,
                    503,
                    "UNAVAILABLE",
                    "The server is shutting down; retry the request.",
                    request_id,
                    retry_after=1,
                )
        except ClientDisconnect:
            # The client went away (wrk ending a round does): nobody to answer, nothing wrong.
            _logger.debug("client disconnected [request_id=%s]", request_id)
        except Exception:
            _logger.exception("unhandled error [request_id=%s]", request_id)
            if not started:
                detail = "Something went wrong on our side; quote the request id if you report it."
                await _send_problem(send_with_id, 500, "INTERNAL", detail, request_id)

    async def _refuse_too_large(self, send: Any, request_id: str) -> None:
        """The one 413: declared too large, or found too large while reading."""
        detail = f"The request body is larger than {self.max_body_bytes} bytes."
        await _send_problem(send, 413, "PAYLOAD_TOO_LARGE", detail, request_id)


def _quota_headers(quota: Quota | None) -> list[tuple[bytes, bytes]]:
    if quota is None:
        return []
    return [(name.lower().encode(), value.encode()) for name, value in quota.headers().items()]


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _SANE_ID.match(candidate) else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_event_stream(scope: Scope) -> bool:
    return _is_graphql(scope) and any(
        name == b"accept" and b"text/event-stream" in value for name, value in scope["headers"]
    )


def _is_graphql(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path == GRAPHQL_PATH or path.startswith(GRAPHQL_PATH + "/")


async def _send_graphql_error(
    send: Any, status: int, code: str, message: str, request_id: str, *, retry_after: int = 0
) -> None:
    body = orjson.dumps(graphql_errors(message, code, request_id=request_id))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_problem(
    send: Any,
    status: int,
    code: str,
    detail: str,
    request_id: str,
    *,
    retry_after: int = 0,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = problem_body(status=status, code=code, detail=detail, request_id=request_id)
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers.extend(extra_headers or [])
    if retry_after:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- Media types -----------------------------------------------------------------------------

JSON = "application/json"
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# RFC 9110 §15.5.16 lets a 415 say what would do; RFC 5789 names Accept-Patch for PATCH.
ACCEPT_HEADER = {"PATCH": b"accept-patch", "POST": b"accept-post", "PUT": b"accept-put"}


def media_type_of(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return content_type.partition(";")[0].strip().lower()


def accepts(accepted: str, sent: str) -> bool:
    """Whether a body sent as `sent` is one a route documented as reading `accepted` reads.

    JSON routes read any JSON media type (`application/merge-patch+json`, `…+json`),
    as FastAPI's own parser does; every other one must match exactly.
    """
    if accepted == JSON:
        return sent == JSON or (sent.startswith("application/") and sent.endswith("+json"))
    return sent == accepted


class MediaTypes:
    """415 `UNSUPPORTED_MEDIA_TYPE` for a body its route cannot read, before anything runs.

    Without it, a `text/plain` body reaches the JSON parser and comes back a 422 about
    the body not being an object, and JSON sent to the form-encoded token route a 400:
    the client's mistake is the media type, and it should hear that. What each route
    reads is what the served OpenAPI document says (`requestBody.content`); a request
    with no body is never refused, nor one to a route that takes none.
    """

    def __init__(self, app: ASGIApp, *, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix
        self._table: list[tuple[re.Pattern[str], Mapping[str, tuple[str, ...]]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in BODY_METHODS
            or not scope["path"].startswith(self.prefix)
            or not _has_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        accepted = self._accepted(scope)
        content_type = _header(scope, b"content-type")
        sent = media_type_of(content_type or "")
        if not accepted or any(accepts(media, sent) for media in accepted):
            await self.app(scope, receive, send)
            return
        detail = (
            f"This route reads {' or '.join(accepted)}; the body was sent as {sent[:100]}."
            if sent
            else f"The body has no Content-Type; this route reads {' or '.join(accepted)}."
        )
        extra = ACCEPT_HEADER.get(scope["method"])
        headers = [(extra, ", ".join(accepted).encode())] if extra else []
        state = scope.get("state") or {}
        await _send_problem(
            send,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            detail,
            state.get("request_id", ""),
            extra_headers=headers,
        )

    def _accepted(self, scope: Scope) -> tuple[str, ...]:
        """The media types the matching operation reads; () when it reads none, or no
        route matches (the router's 404 or 405 will say so)."""
        if self._table is None:
            app = scope.get("app")
            openapi: Callable[[], dict[str, Any]] | None = getattr(app, "openapi", None)
            if openapi is None:
                return ()
            self._table = _media_table(openapi())
        path, method = scope["path"], scope["method"].lower()
        for pattern, operations in self._table:
            if pattern.fullmatch(path):
                return operations.get(method, ())
        return ()


def _media_table(
    document: Mapping[str, Any],
) -> list[tuple[re.Pattern[str], Mapping[str, tuple[str, ...]]]]:
    table: list[tuple[re.Pattern[str], Mapping[str, tuple[str, ...]]]] = []
    # Literal paths before templated ones: /users/me is not /users/{user_id}.
    for template in sorted(document.get("paths", {}), key=lambda t: t.count("{")):
        operations = document["paths"][template]
        pattern = re.compile(re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template)))
        reads = {
            method: tuple((operation.get("requestBody") or {}).get("content", {}))
            for method, operation in operations.items()
            if isinstance(operation, dict)
        }
        table.append((pattern, reads))
    return table


def _has_body(scope: Scope) -> bool:
    length = _content_length(scope)
    if length is not None:
        return length > 0
    return _header(scope, b"transfer-encoding") is not None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
