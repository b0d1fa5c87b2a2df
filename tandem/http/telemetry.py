"""Per-request telemetry, as pure ASGI middleware: the metrics and the one log line per request.

Outermost of all middleware, so it times and counts everything the client sees,
the 413s and 503s that inner middleware answer included.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.observability import metrics, requests
from tandem.observability.logs import TRUSTED_FIELDS

_log = logging.getLogger("tandem.request")
GRAPHQL_PATH = "/graphql"
UNMATCHED = "unmatched"  # no route: a label for every unknown path, never the path itself
CLIENT_CLOSED = 499  # nginx's code for a client that hung up before its answer


class RequestTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record, token = requests.begin()
        status = 500  # if nothing is ever sent, the client hears the connection drop
        begun = time.perf_counter()

        answered = False

        async def send_noting_status(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
            await send(message)

        async def receive_noting_hang_up() -> Message:
            nonlocal status
            message = await receive()
            if message["type"] == "http.disconnect" and not answered:
                status = CLIENT_CLOSED
            return message

        metrics.HTTP_REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive_noting_hang_up, send_noting_status)
        finally:
            metrics.HTTP_REQUESTS_IN_FLIGHT.dec()
            requests.end(token)
            _report(scope, self.route_of(scope), record, status, time.perf_counter() - begun)

    def route_of(self, scope: Scope) -> str:
        """The matched route's whole template (`/api/v1/items/{item_id}`), never the raw path.

        FastAPI gives the route as its router declared it, without the prefix it was
        included under; the whole templates are read once from the app's routes.
        """
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:
            self._templates = _whole_templates(scope.get("app"))
        template = self._templates.get(id(route)) or getattr(route, "path_format", None)
        return template if isinstance(template, str) else UNMATCHED


def _whole_templates(app: object) -> dict[int, str]:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers: routes carry their whole path
        return {}
    routes = getattr(app, "routes", [])
    return {
        id(context.original_route): context.path_format
        for context in iter_route_contexts(routes)
        if context.path_format
    }


def _report(
    scope: Scope, route: str, record: requests.RequestRecord, status: int, seconds: float
) -> None:
    method = scope["method"]
    face = "rest" if route.startswith("/api/") else "other"
    fields: dict[str, object] = {}
    metrics.HTTP_REQUEST_DURATION.labels(method, route, str(status)).observe(seconds)
    if route == GRAPHQL_PATH:
        face = "graphql"
        name, operation_type = requests.operation_labels(record)
        metrics.GRAPHQL_REQUEST_DURATION.labels(name, operation_type).observe(seconds)
        fields = {"operation_name": name, "operation_type": operation_type}
    metrics.DB_STATEMENTS_PER_REQUEST.labels(face).observe(record.statements)
    if not _log.isEnabledFor(logging.INFO):
        return
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
