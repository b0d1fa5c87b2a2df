"""`GET /metrics`: Prometheus' text format, behind a bearer token when METRICS_TOKEN is set."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from tandem.http.problems import MEDIA_TYPE, problem_body, request_id_of
from tandem.observability import metrics

Endpoint = Callable[[Request], Awaitable[Response]]


def metrics_endpoint(*, token: str | None, refresh: Callable[[], None]) -> Endpoint:
    """The endpoint; `refresh` updates this process's sampled gauges before each scrape."""
    expected = None if token is None else token.encode()

    async def serve_metrics(request: Request) -> Response:
        if expected is not None and not _bearer_matches(request, expected):
            body = problem_body(
                status=401,
                code="UNAUTHENTICATED",
                detail="/metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.",
                request_id=request_id_of(request.scope),
            )
            headers = {"WWW-Authenticate": 'Bearer realm="metrics"'}
            return Response(body, status_code=401, media_type=MEDIA_TYPE, headers=headers)
        refresh()
        body, content_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return serve_metrics


def _bearer_matches(request: Request, expected: bytes) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)
