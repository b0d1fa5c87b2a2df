"""`GET /metrics`: Prometheus' text format, behind a bearer token when METRICS_TOKEN is set."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Awaitable, Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from starlette.requests import Request
from starlette.responses import Response

from tandem.http.problems import MEDIA_TYPE, problem_body, request_id_of
from tandem.observability import metrics

Endpoint = Callable[[Request], Awaitable[Response]]
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}


def _refusal(request_id: str | None) -> bytes:
    return problem_body(
        status=401,
        code="UNAUTHENTICATED",
        detail="/metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.",
        request_id=request_id,
    )


def metrics_endpoint(*, token: str | None, refresh: Callable[[], None]) -> Endpoint:
    """The endpoint; `refresh` updates this process's sampled gauges before each scrape."""
    expected = None if token is None else token.encode()

    async def serve_metrics(request: Request) -> Response:
        if expected is not None and not _bearer_matches(request, expected):
            body = _refusal(request_id_of(request.scope))
            return Response(body, status_code=401, media_type=MEDIA_TYPE, headers=CHALLENGE)
        refresh()
        body, content_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return serve_metrics


def _bearer_matches(request: Request, expected: bytes) -> bool:
    return _bearer_in(request.headers.get("authorization", ""), expected)


def _bearer_in(authorization: str, expected: bytes) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged: one line every few seconds would drown the worker's."""


def serve_in_thread(*, host: str, port: int, token: str | None) -> WSGIServer:
    """`tandem worker --metrics-port`: the same exposition behind the same bearer check as
    `tandem serve`'s `/metrics`, on a thread of its own (the worker has no ASGI app), and
    `/healthz` for a liveness probe, which cannot send a secret.

    prometheus_client's own `start_http_server` has no way to ask for a token, and the
    worker's port is opened beyond loopback in Kubernetes (deploy/kubernetes).
    """
    expected = None if token is None else token.encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":  # the liveness probe's: says nothing
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Only /metrics and /healthz are served here.\n"]
        if expected is not None and not _bearer_in(environ.get("HTTP_AUTHORIZATION", ""), expected):
            start_response("401 Unauthorized", [("Content-Type", MEDIA_TYPE), *CHALLENGE.items()])
            return [_refusal(None)]
        body, content_type = metrics.exposition(environ.get("HTTP_ACCEPT", ""))
        start_response("200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store")])
        return [body]

    server = make_server(host, port, app, server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
