"""Pure ASGI middleware: cheap on every request, unlike BaseHTTPMiddleware.

`RequestContext`, the outermost of Tandem's layers, is each request's one context: it
names the request (X-Request-ID), opens its admission (tandem/http/admission.py), names
the API version that served a REST answer (`Tandem-Version`, refusing an unknown one with
400), caps bodies, stops a request past its time, turns a crash into one logged line and
a problem+json 500 that leaks nothing, and times and counts what the client heard
(tandem/http/telemetry.py): one wrapper of `send` and one of `receive` for all of it.
`MediaTypes` refuses a REST body of a media type its route does not read (415).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
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
from tandem.http.telemetry import CLIENT_CLOSED, RequestLog, RequestTelemetry, error_code_in
from tandem.http.versions import HEADER_KEY
from tandem.observability import requests, tracing

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
# The quota's header names as ASGI writes them, in `Quota.headers()`'s order.
_QUOTA_NAMES = tuple(name.lower().encode() for name in Quota(limit=0, used=0, reset_at=0).headers())


class BodyTooLarge(Exception):
    pass


_READ_METHODS = frozenset(("GET", "HEAD"))  # a GraphQL POST says so per operation


def new_request_id() -> str:
    """A random UUID (version 4) in hex, as `uuid.uuid4().hex` writes it, without building
    the `UUID` object on every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # the version, 4
    raw[8] = raw[8] & 0x3F | 0x80  # the variant, RFC 4122's
    return raw.hex()


class RequestContext:
    """`request_log`, when given, receives a line for every signed-in caller's request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        timeout_seconds: float | None = None,
        versioned_prefix: str | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self._deadlines = None if timeout_seconds is None else Deadlines(timeout_seconds)
        # Answers under this prefix (the REST face) say which dated version served them.
        self.versioned_prefix = versioned_prefix
        self.telemetry = RequestTelemetry(request_log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if not reads.enabled:
                await self._http(scope, receive, send)
                return
            # Read replicas: where this request's reads may go (tandem/domain/reads.py).
            opened = reads.open_route(read_only=scope["method"] in _READ_METHODS)
            try:
                await self._http(scope, receive, send)
            finally:
                reads.close_route(opened)
        elif kind == "websocket":
            request_id = _incoming_id(scope) or new_request_id()
            scope.setdefault("state", {})["request_id"] = request_id
            open_admission(scope, request_id=request_id)
            await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        telemetry = self.telemetry
        record, token = requests.begin()
        begun = time.perf_counter()
        telemetry.begin()
        status = 500  # if nothing is ever sent, the client hears the connection drop
        started = False
        refusing = False  # this layer's own 413 goes out, past the cap on the app's answers
        error_code: str | None = None
        scanning = telemetry.scans  # for the error code, in the first chunk
        request_id = _incoming_id(scope) or new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id  # for the log lines of every layer
        admission = open_admission(scope, request_id=request_id)
        authorized = False
        for name, _ in scope["headers"]:
            if name == b"authorization":
                authorized = True
                break
        versioned = self.versioned_prefix is not None and scope["path"].startswith(
            self.versioned_prefix
        )
        received = 0
        overflowed = False

        async def answer(message: Message) -> None:
            """Every message to the client, the app's and this layer's own."""
            nonlocal status, started, error_code, scanning
            if overflowed and not refusing:
                # FastAPI turns any error while reading a body into its own 400; whatever
                # the app answers to a body cut short, the client hears 413.
                if message["type"] == "http.response.start" and not started:
                    await refuse_too_large()
                return
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                    NOSNIFF,
                    *_quota_headers(admission.quota),
                    *deprecation_headers(state),
                ]
                if authorized and not any(name == b"cache-control" for name, _ in headers):
                    headers.append(PRIVATE)
                if versioned:  # the answer's own version: after the guard found the caller
                    headers.append((HEADER_KEY, admission.version.encode()))
                message["headers"] = headers
                # Only a failure, or a GraphQL answer, has a code worth the log's scan.
                scanning = scanning and (status >= 400 or scope["path"] == GRAPHQL_PATH)
                if tracing.enabled():  # before the answer ends its span
                    telemetry.name_span(scope, record)
            elif scanning:
                error_code, scanning = error_code_in(message.get("body", b"")), False
            await send(message)

        async def take() -> Message:
            nonlocal received, overflowed, status
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    overflowed = True
                    raise BodyTooLarge
            elif kind == "http.disconnect" and not started:
                status = CLIENT_CLOSED
            return message

        async def refuse_too_large() -> None:
            """The one 413: declared too large, or found too large while reading."""
            nonlocal refusing
            refusing = True
            detail = f"The request body is larger than {self.max_body_bytes} bytes."
            await _send_problem(answer, 413, "PAYLOAD_TOO_LARGE", detail, request_id)

        async def unavailable(detail: str, retry_after: int) -> None:
            """503 UNAVAILABLE, unless the answer has started."""
            if not started:
                # GraphQL clients read `errors[].extensions.code`, not a problem document.
                reply = _send_graphql_error if _is_graphql(scope) else _send_problem
                await reply(answer, 503, "UNAVAILABLE", detail, request_id, retry_after=retry_after)

        async def timed_out() -> None:
            _logger.warning("request timed out [request_id=%s]", request_id)
            await unavailable(
                f"The request took longer than {self.timeout_seconds} s and was stopped.", 5
            )

        deadlines = self._deadlines
        task: asyncio.Task[Any] | None = None
        try:
            if versioned and admission.version_refused is not None:
                await _send_problem(
                    answer, 400, "UNKNOWN_VERSION", admission.version_refused, request_id
                )
                return
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                await refuse_too_large()
                return
            # An event stream (graphql-sse) is meant to stay open: the wall clock does not
            # apply.
            if deadlines is not None and not _is_event_stream(scope):
                task = deadlines.enter()
            await self.app(scope, take, answer)
        except TimeoutError:
            await timed_out()
        except BodyTooLarge:
            if not started:
                await refuse_too_large()
        except asyncio.CancelledError as cancelled:
            if task is not None and deadlines is not None and deadlines.stopped(task):
                await timed_out()  # this layer stopped it: past its time
            else:
                # uvicorn cancels what is still running when SHUTDOWN_GRACE_SECONDS runs
                # out: the client hears 503 (retry elsewhere), not a dropped connection and
                # a traceback. Any other cancellation is not ours to absorb.
                if SHUTDOWN_CANCEL not in str(cancelled):
                    raise
                _logger.warning("request cut short by shutdown [request_id=%s]", request_id)
                await unavailable("The server is shutting down; retry the request.", 1)
        except ClientDisconnect:
            # The client went away (wrk ending a round does): nobody to answer, nothing wrong.
            _logger.debug("client disconnected [request_id=%s]", request_id)
        except Exception:
            _logger.exception("unhandled error [request_id=%s]", request_id)
            if not started:
                detail = "Something went wrong on our side; quote the request id if you report it."
                await _send_problem(answer, 500, "INTERNAL", detail, request_id)
        finally:
            if task is not None and deadlines is not None and deadlines.leave(task):
                task.uncancel()  # its cancellation was this layer's, and is answered
            requests.end(token)
            telemetry.finish(scope, record, status, error_code, time.perf_counter() - begun)
            # `answer` and the replies that send through it name each other: left so, the
            # request's scope and all it holds would wait for the garbage collector.
            answer = refuse_too_large = unavailable = timed_out = None  # type: ignore[assignment]


class Deadlines:
    """When each request in flight must end, and one timer, for the first of them to end.

    Every request is given the same time, so their deadlines come in the order they
    started: the timer waits for the oldest request's, and then for the next one's. A
    request costs an entry in a dict, where `asyncio.timeout` scheduled and cancelled a
    timer of the event loop for each (as dear as the rest of this layer's work).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._running: dict[asyncio.Task[Any], float] = {}  # oldest first
        self._stopped: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def enter(self) -> asyncio.Task[Any]:
        """The current task's request starts: it is cancelled once its time has run out."""
        task = asyncio.current_task()
        assert task is not None, "a request runs in a task"
        loop = task.get_loop()
        deadline = loop.time() + self.seconds
        self._running[task] = deadline
        if self._timer is None or self._loop is not loop:
            self._loop, self._timer = loop, loop.call_at(deadline, self._expire)
        return task

    def stopped(self, task: asyncio.Task[Any]) -> bool:
        """Whether `task` was cancelled for its time (and nothing else cancelled it too)."""
        return task in self._stopped and task.cancelling() <= 1

    def leave(self, task: asyncio.Task[Any]) -> bool:
        """The request is over; True when its time had run out (its task was cancelled)."""
        self._running.pop(task, None)
        if not self._stopped:
            return False
        stopped = task in self._stopped
        self._stopped.discard(task)
        return stopped

    def _expire(self) -> None:
        loop, running = self._loop, self._running
        assert loop is not None
        self._timer = None
        now = loop.time()
        while running:
            task = next(iter(running))
            deadline = running[task]
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire)
                return
            del running[task]
            if not task.done() and task.get_loop() is loop:
                self._stopped.add(task)
                task.cancel()


def _quota_headers(quota: Quota | None) -> list[tuple[bytes, bytes]]:
    if quota is None:
        return []
    return [
        (name, value.encode())
        for name, value in zip(_QUOTA_NAMES, quota.headers().values(), strict=True)
    ]


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
