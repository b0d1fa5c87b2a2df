"""Every request is labelled by its route's template, in the metrics and the log line alike.

Starlette's own routes (`/openapi.json`, `/metrics`), the static files' mount, and requests
refused before routing (a 415 for a body's media type) were all `unmatched`; now only a
path no route knows is.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.factories import make_account


def routes_logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, int]]:
    return [
        (record.method, record.route, record.status)  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == "tandem.request"
    ]


def counted(method: str, route: str, status: int) -> float:
    found = REGISTRY.get_sample_value(
        "tandem_http_request_duration_seconds_count",
        {"method": method, "route": route, "code": str(status)},
    )
    return found or 0.0


async def test_each_answer_is_labelled_by_the_route_it_was_for(
    client: httpx.AsyncClient, services, caplog: pytest.LogCaptureFixture
) -> None:
    account = await make_account(services, client)
    before = counted("POST", "/api/v1/items", 415)
    caplog.set_level(logging.INFO, logger="tandem.request")
    asked = [
        (client.get("/openapi.json"), ("GET", "/openapi.json", 200)),
        (client.get("/metrics"), ("GET", "/metrics", 200)),
        (client.get("/static/tandem/tools.css"), ("GET", "/static/{path}", 200)),
        (client.get("/static/no-such-file.js"), ("GET", "/static/{path}", 404)),
        (client.get("/"), ("GET", "/", 200)),
        (
            client.post(
                "/api/v1/items",
                content="a lamp",
                headers={**account.headers, "Content-Type": "text/plain"},
            ),
            ("POST", "/api/v1/items", 415),
        ),
        (client.put("/api/v1/items/1", json={}), ("PUT", "/api/v1/items/{item_id}", 405)),
        (
            client.get("/api/v1/items/1", headers=account.headers),
            ("GET", "/api/v1/items/{item_id}", 404),
        ),
        (client.get("/no/such/path"), ("GET", "unmatched", 404)),
    ]
    expected = []
    for request, label in asked:
        response = await request
        assert response.status_code == label[2], (label, response.text)
        expected.append(label)
    assert [entry for entry in routes_logged(caplog) if entry in expected] == expected
    assert counted("POST", "/api/v1/items", 415) == before + 1
