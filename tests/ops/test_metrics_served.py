"""`/metrics` read from a real `tandem serve --workers 2`: one scrape sums both workers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.served import Served, serve

ITEM_ROUTE = "/api/v1/items/{item_id}"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[Served]:
    served = serve(
        database_url,
        tmp_path,
        workers=2,
        TANDEM_ENV="production",
        RATE_LIMIT="off",
        DB_POOL_SIZE="3",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    yield served
    served.stop()


def samples(served: Served) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(
        served.url + "/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}", "Connection": "close"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def sign_up(served: Served) -> str:
    body = {"email": "ops@example.com", "name": "Ops", "password": "correct horse battery"}
    assert httpx.post(served.url + "/api/v1/auth/register", json=body).status_code == 201
    token = httpx.post(
        served.url + "/api/v1/auth/token",
        data={"grant_type": "password", "username": body["email"], "password": body["password"]},
    ).json()["access_token"]
    assert isinstance(token, str)
    return token


def test_one_scrape_counts_every_workers_requests(two_workers: Served) -> None:
    served = two_workers
    token = sign_up(served)
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    item = httpx.post(served.url + "/api/v1/items", json={"title": "Lamp"}, headers=headers)
    assert item.status_code == 201
    reads = 40
    for _ in range(reads):  # a new connection each: the kernel spreads them over the workers
        answer = httpx.get(f"{served.url}/api/v1/items/{item.json()['id']}", headers=headers)
        assert answer.status_code == 200
    query = "query ListItems { items(first: 2) { totalCount } }"
    for _ in range(5):
        answer = httpx.post(served.url + "/graphql", json={"query": query}, headers=headers)
        assert answer.status_code == 200 and "errors" not in answer.json()

    # Both workers answered (their pids are in the request log lines)...
    lines = [json.loads(line) for line in served.log().splitlines() if line.startswith("{")]
    served_by = {line["pid"] for line in lines if line.get("route") == ITEM_ROUTE}
    assert len(served_by) == 2, served_by

    # ...and every scrape, whichever worker answers it, reports the sum of both.
    # Each worker samples its pool, and writes its requests' metrics to its file, once a
    # second: wait until both have (a loaded machine may take longer than a second or
    # two), then every scrape must agree.
    deadline = time.monotonic() + 30
    name = "tandem_http_request_duration_seconds_count"
    while (
        value(found := samples(served), "tandem_db_pool_max_connections") < 6
        or value(found, name, method="GET", route=ITEM_ROUTE, code="200") < reads
        or value(found, "tandem_db_statements_per_request_count", face="graphql") < 5
    ):
        assert time.monotonic() < deadline, "the workers never wrote their metrics"
        time.sleep(0.1)
    for _ in range(6):
        found = samples(served)
        assert value(found, name, method="GET", route=ITEM_ROUTE, code="200") == reads
        assert (
            value(
                found,
                "tandem_http_request_duration_seconds_bucket",
                method="GET",
                route=ITEM_ROUTE,
                code="200",
                le="+Inf",
            )
            == reads
        )
        graphql = value(
            found,
            "tandem_graphql_request_duration_seconds_count",
            operation_name="ListItems",
            operation_type="query",
        )
        assert graphql == 5
        assert value(found, "tandem_db_statements_per_request_count", face="rest") >= reads + 3
        assert value(found, "tandem_db_statements_per_request_sum", face="rest") >= reads
        assert value(found, "tandem_db_statements_per_request_count", face="graphql") == 5
        assert value(found, "tandem_http_requests_in_flight") >= 1  # this scrape
        # DB_POOL_SIZE=3 is 3 connections at most per process; both pools are open.
        assert value(found, "tandem_db_pool_max_connections") == 6
        assert value(found, "tandem_db_pool_connections") >= 2
        assert 0 <= value(found, "tandem_db_pool_connections_in_use") <= 12


def test_metrics_needs_the_token_when_one_is_set(two_workers: Served) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": METRICS_TOKEN},
    ):
        answer = httpx.get(two_workers.url + "/metrics", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["code"] == "UNAUTHENTICATED"
        assert "tandem_" not in answer.text
