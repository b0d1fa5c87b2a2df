"""The request metrics are kept aside per request and written into prometheus_client's at
each collection, once a second, and past a bound: `/metrics` shows what `observe` would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tandem.domain.requests.records import RequestEntry
from tandem.http.telemetry import RequestTelemetry
from tandem.observability import metrics, request_metrics
from tandem.observability.request_metrics import REQUEST_METRICS
from tandem.observability.requests import Operation, RequestRecord
from tests.factories import make_account

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scraped(body: bytes) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def of(found: Samples, name: str, **labels: str) -> dict[str, float]:
    """The samples of one label set, by name (and `le` for a bucket)."""
    chosen = {}
    for (sample, sample_labels), value in found.items():
        rest = dict(sample_labels)
        le = rest.pop("le", None)
        if sample.startswith(name) and rest == labels and not sample.endswith("_created"):
            chosen[sample if le is None else f"{sample}{{le={le}}}"] = value
    return chosen


@pytest.fixture
def counted_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every observe, inc and dec prometheus_client's histograms and gauges are asked for."""
    calls: list[str] = []
    for kind, names in ((Histogram, ("observe",)), (Gauge, ("inc", "dec"))):
        for name in names:
            original = getattr(kind, name)

            def counting(self: Any, *args: Any, _o: Any = original, _n: str = name) -> Any:
                calls.append(f"{self._name}.{_n}")
                return _o(self, *args)

            monkeypatch.setattr(kind, name, counting)
    yield calls


def finish(
    telemetry: RequestTelemetry,
    seconds: float,
    statements: int,
    *,
    graphql: bool = False,
    begun: bool = False,
) -> None:
    route = SimpleNamespace(path_format="/graphql" if graphql else "/tests/folded")
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "route": route}
    record = RequestRecord(statements=statements)
    if graphql:
        record.operations.append(Operation("FoldedOperation", "query"))
    if not begun:
        telemetry.begin()
    telemetry.finish(scope, record, 418, None, seconds)


def test_the_kept_values_are_exactly_what_observe_would_have_written() -> None:
    """Bounds included: a value equal to a bucket's bound is in that bucket."""
    telemetry = RequestTelemetry()
    durations = [0.001, 0.0025, 0.0004, 0.1, 0.1 + 1e-12, 0.3, 7.0, 11.0, 0.1, 0.2, 0.0]
    statements = [0, 1, 2, 7, 8, 100, 101, 3, 3, 0, 15]
    before = scraped(metrics.exposition()[0])
    for seconds, count in zip(durations, statements, strict=True):
        finish(telemetry, seconds, count)
    finish(telemetry, 0.0031, 4, graphql=True)
    after = scraped(metrics.exposition()[0])

    # The same observations, made by prometheus_client itself.
    reference = CollectorRegistry()
    duration = Histogram(
        "tandem_http_request_duration_seconds",
        "",
        ["method", "route", "code"],
        buckets=metrics.DURATION_BUCKETS,
        registry=reference,
    )
    statement_counts = Histogram(
        "tandem_db_statements_per_request",
        "",
        ["face"],
        buckets=metrics.STATEMENT_BUCKETS,
        registry=reference,
    )
    for seconds, count in zip(durations, statements, strict=True):
        duration.labels("GET", "/tests/folded", "418").observe(seconds)
        statement_counts.labels("other").observe(count)
    expected = scraped(generate_latest(reference))
    name = "tandem_http_request_duration_seconds"
    labels = {"method": "GET", "route": "/tests/folded", "code": "418"}
    assert of(after, name, **labels) == of(expected, name, **labels)
    assert of(after, name, **labels)[name + "_count"] == len(durations)
    # A shared label set: what was added is what the reference counted (the sum too, to
    # the float: each value is added in turn, as `observe` adds it).
    name = "tandem_db_statements_per_request"
    grown = {
        key: value - of(before, name, face="other").get(key, 0.0)
        for key, value in of(after, name, face="other").items()
    }
    assert grown == of(expected, name, face="other")
    operation = {"operation_name": "FoldedOperation", "operation_type": "query"}
    name = "tandem_graphql_request_duration_seconds"
    assert of(after, name, **operation)[name + "_count"] >= 1
    assert of(after, name, **operation)[name + "_sum"] >= 0.0031


def test_a_request_takes_no_lock_of_prometheus_client(counted_calls: list[str]) -> None:
    telemetry = RequestTelemetry()
    in_flight = ("tandem_http_requests_in_flight", frozenset[tuple[str, str]]())
    before = scraped(metrics.exposition()[0])[in_flight]
    for _ in range(3):
        telemetry.begin()
    assert scraped(metrics.exposition()[0])[in_flight] == before + 3
    for _ in range(5):
        finish(telemetry, 0.002, 2)
        finish(telemetry, 0.002, 2, graphql=True)
    for _ in range(3):
        finish(telemetry, 0.002, 2, begun=True)
    assert counted_calls == []
    found = scraped(metrics.exposition()[0])
    labels = frozenset({"method": "GET", "route": "/graphql", "code": "418"}.items())
    assert found[("tandem_http_request_duration_seconds_count", labels)] >= 5
    assert found[in_flight] == before


async def test_n_requests_then_metrics_shows_n(
    client: httpx.AsyncClient, services: Any, counted_calls: list[str]
) -> None:
    account = await make_account(services, client)
    labels = {"method": "GET", "route": "/api/v1/items/{item_id}", "code": "404"}
    name = "tandem_http_request_duration_seconds"

    def now() -> dict[str, float]:
        return of(scraped(metrics.exposition()[0]), name, **labels)

    before = now()
    counted_calls.clear()
    asked = 25
    for _ in range(asked):
        answer = await client.get("/api/v1/items/999999", headers=account.headers)
        assert answer.status_code == 404
    assert counted_calls == []  # nothing written to prometheus_client yet...
    answer = await client.get("/metrics")  # ...until it is read
    found = scraped(answer.content)
    after = of(found, name, **labels)
    assert after[name + "_count"] == before.get(name + "_count", 0.0) + asked
    assert after[name + "_bucket{le=+Inf}"] == before.get(name + "_bucket{le=+Inf}", 0.0) + asked
    assert after[name + "_sum"] > before.get(name + "_sum", 0.0)
    assert found[("tandem_http_requests_in_flight", frozenset())] >= 1  # the scrape itself


async def test_kept_values_are_written_within_a_second_without_a_scrape() -> None:
    """What another worker's scrape reads of this one is at most about a second old."""
    telemetry = RequestTelemetry()
    finish(telemetry, 0.002, 2)
    assert REQUEST_METRICS.finished
    await asyncio.sleep(request_metrics.INTERVAL + 0.5)
    assert not REQUEST_METRICS.finished


def test_past_the_bound_the_requests_write_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_metrics, "PENDING_LIMIT", 10)
    monkeypatch.setattr("tandem.http.telemetry.PENDING_LIMIT", 10)
    REQUEST_METRICS.settle()
    telemetry = RequestTelemetry()
    for _ in range(9):
        finish(telemetry, 0.002, 2)
    assert len(REQUEST_METRICS.finished) == 9
    finish(telemetry, 0.002, 2)
    assert not REQUEST_METRICS.finished


def test_a_request_log_entry_has_each_field_under_its_name() -> None:
    """The entry is built by position (cheaper than RequestEntry's keywords)."""
    lines: list[RequestEntry] = []
    telemetry = RequestTelemetry(lines.append)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [(b"host", b"h"), (b"idempotency-key", b"k-1"), (b"idempotency-key", b"k-2")],
        "route": SimpleNamespace(path_format="/api/v1/items"),
        "state": {"request_id": "r-1"},
    }
    record = RequestRecord(statements=3, principal_id=42, client_id="partner")
    telemetry.begin()
    telemetry.finish(scope, record, 409, "CONFLICT", 0.012345)
    (entry,) = lines
    assert type(entry) is RequestEntry and len(entry) == len(RequestEntry._fields)
    assert entry._replace(at=None) == RequestEntry(  # type: ignore[arg-type]
        at=None,  # type: ignore[arg-type]
        user_id=42,
        client_id="partner",
        method="POST",
        route="/api/v1/items",
        status=409,
        error_code="CONFLICT",
        request_id="r-1",
        idempotency_key="k-1",
        duration_ms=12.35,
    )
    assert entry.at.tzinfo is not None
