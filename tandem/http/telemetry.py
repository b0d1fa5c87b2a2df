"""Per-request telemetry: the metrics and the one log line per request.

`RequestContext` (tandem/http/middleware.py), the outermost of Tandem's middleware, notes
each answer's status and hands the request to `RequestTelemetry.finish` once it is over,
so everything the client sees is timed and counted, the 413s and 503s it answers itself
included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.routing import BaseRoute, Mount, WebSocketRoute, compile_path
from starlette.types import Scope

from tandem.domain.requests.records import RequestEntry
from tandem.observability import requests, tracing
from tandem.observability.logs import TRUSTED_FIELDS
from tandem.observability.request_metrics import GRAPHQL_PATH, PENDING_LIMIT, REQUEST_METRICS

_log = logging.getLogger("tandem.request")
UNMATCHED = "unmatched"  # no route: a label for every unknown path, never the path itself
CLIENT_CLOSED = 499  # nginx's code for a client that hung up before its answer
_CODE = b'"code":"'  # a problem's `code`, or a GraphQL error's `extensions.code`
RequestLog = Callable[[RequestEntry], None]
_new_entry = tuple.__new__


class RequestTelemetry:
    """One app's request metrics and log lines; `request_log`, when given, receives a line
    for every signed-in caller's request."""

    def __init__(self, request_log: RequestLog | None = None) -> None:
        self._templates: dict[int, str] | None = None
        self._table: list[_Entry] | None = None
        self._request_log = request_log
        self.scans = request_log is not None  # an answer's error code is worth finding

    def begin(self) -> None:
        REQUEST_METRICS.begun += 1  # in flight until it is finished

    def finish(
        self,
        scope: Scope,
        record: requests.RequestRecord,
        status: int,
        error_code: str | None,
        seconds: float,
    ) -> None:
        """The request is over (`begin` was called): its metrics, log line and log entry.

        Its metrics are kept in plain Python until the next settle
        (tandem/observability/request_metrics.py).
        """
        route = self.route_of(scope)
        operation = requests.operation_labels(record) if route == GRAPHQL_PATH else None
        finished = REQUEST_METRICS.finished
        finished.append((scope["method"], route, status, seconds, record.statements, operation))
        pending = len(finished)
        if pending == 1 or pending >= PENDING_LIMIT:  # the first since a settle, or too many
            REQUEST_METRICS.check(pending)
        if _log.isEnabledFor(logging.INFO):
            _log_line(scope, route, record, status, seconds, operation)
        if self._request_log is not None and record.principal_id is not None:
            self._request_log(_entry(scope, route, record, status, error_code, seconds))

    def name_span(self, scope: Scope, record: requests.RequestRecord) -> None:
        route = self.route_of(scope)
        operation = requests.operation_labels(record) if route == GRAPHQL_PATH else None
        tracing.name_request(scope["method"], route, operation)

    def route_of(self, scope: Scope) -> str:
        """The matched route's whole template (`/api/v1/items/{item_id}`), never the raw path.

        FastAPI gives the route as its router declared it, without the prefix it was
        included under; the whole templates are read once from the app's routes. A request
        that reached no route (a 415 or 413 before routing, Starlette's own routes such as
        `/openapi.json`, the static files) is labelled by the route its path and method
        would have reached, else by one its path matches with another method (a 405); an
        unknown path is `unmatched`.
        """
        if self._templates is None or self._table is None:
            self._templates, self._table = _route_templates(scope.get("app"))
        route = scope.get("route")
        if route is not None:
            template = self._templates.get(id(route)) or getattr(route, "path_format", None)
            if isinstance(template, str):
                return template
        return _template_for(self._table, scope["path"], scope["method"])


def error_code_in(body: bytes) -> str | None:
    """The first `"code":"…"` of an answer's first chunk: a problem's code, or a GraphQL
    error's. A `"code":"` inside a string value is escaped (`\\"code\\":`), so never matches."""
    at = body.find(_CODE)
    if at < 0:
        return None
    start = at + len(_CODE)
    end = body.find(b'"', start, start + 64)
    return body[start:end].decode("ascii", "replace") if end > start else None


def _entry(
    scope: Scope,
    route: str,
    record: requests.RequestRecord,
    status: int,
    error_code: str | None,
    seconds: float,
) -> RequestEntry:
    assert record.principal_id is not None
    key = None
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            key = value.decode("latin-1")[:255]
            break
    state = scope.get("state") or {}
    return _new_entry(  # RequestEntry(...) by position, without its __new__'s keywords
        RequestEntry,
        (
            datetime.now(UTC),  # at
            record.principal_id,  # user_id
            record.client_id,
            scope["method"],
            route,
            status,
            error_code if status >= 400 or route == GRAPHQL_PATH else None,
            str(state.get("request_id") or ""),
            key,  # idempotency_key
            round(seconds * 1000, 2),  # duration_ms
        ),
    )


def _route_templates(app: object) -> tuple[dict[int, str], list[_Entry]]:
    """Each route's whole template by the route's id, and the table to match a path in."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers: routes carry their whole path
        contexts: list[tuple[object, str | None]] = [
            (route, getattr(route, "path_format", None)) for route in getattr(app, "routes", [])
        ]
    else:
        contexts = [
            (context.original_route, context.path_format)
            for context in iter_route_contexts(getattr(app, "routes", []))
        ]
    templates: dict[int, str] = {}
    table: list[_Entry] = []
    for route, path_format in contexts:
        if not path_format:
            continue
        templates[id(route)] = path_format
        if isinstance(route, Mount):  # its template is the mount's path + `/{path}`
            pattern, _, _ = compile_path(route.path + "/{path:path}")
            table.append(_Entry(pattern, None, path_format))
        elif isinstance(route, BaseRoute) and not isinstance(route, WebSocketRoute):
            pattern, _, _ = compile_path(path_format)
            methods = getattr(route, "methods", None)
            table.append(_Entry(pattern, frozenset(methods) if methods else None, path_format))
    return templates, table


@dataclass(frozen=True, slots=True)
class _Entry:
    pattern: re.Pattern[str]
    methods: frozenset[str] | None  # None: any method (a mount)
    template: str


def _template_for(table: list[_Entry], path: str, method: str) -> str:
    other_method = None
    for entry in table:
        if entry.pattern.match(path):
            if entry.methods is None or method in entry.methods:
                return entry.template
            other_method = other_method or entry.template
    return other_method or UNMATCHED


def _log_line(
    scope: Scope,
    route: str,
    record: requests.RequestRecord,
    status: int,
    seconds: float,
    operation: tuple[str, str] | None,
) -> None:
    method = scope["method"]
    fields: dict[str, object] = {}
    if operation is not None:
        fields = {"operation_name": operation[0], "operation_type": operation[1]}
    state = scope.get("state") or {}
    milliseconds = round(seconds * 1000, 2)
    what = f"{fields['operation_type']} {fields['operation_name']}" if fields else route
    line = _log.makeRecord(  # made directly: Logger.info would walk the stack for its caller
        _log.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s in %.1f ms, %d statements [request_id=%s principal=%s]",
        (
            method,
            what,
            status,
            milliseconds,
            record.statements,
            state.get("request_id"),
            record.principal_id,
        ),
        None,
        extra={
            "request_id": state.get("request_id"),
            "principal_id": record.principal_id,
            "method": method,
            "route": route,
            **fields,
            "status": status,
            "duration_ms": milliseconds,
            "statements": record.statements,
            TRUSTED_FIELDS: True,
        },
    )
    _log.handle(line)
