"""The hot path (tandem/graphql/hot_path.py) keeps what Strawberry's path does around a query.

The differential test proves the answers equal with the rate limit off; these check
what only shows with it on, and what the operators see: every hot query is charged
its cost once and reports it in `extensions.cost` and the X-RateLimit headers; a
spent budget is refused exactly as before (and counted once); the request's metrics
and log line name the GraphQL route and the operation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.domain.services import Services
from tandem.graphql import hot_path
from tandem.graphql.plan import executor as planned
from tandem.persistence.counters import MemoryCounters
from tests.factories import make_account, make_item
from tests.statements import count_statements

HOT = "query Hot($id: ID!) { item(id: $id) { id title owner { name } } }"
BUDGET = 6


@pytest.fixture
async def limited(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An app of its own with a small budget, in counters of its own."""
    tight = settings.model_copy(update={"rate_limit": f"{BUDGET}/hour"})
    app = create_app(
        tight, services=services_for(tight, services.database, counters=MemoryCounters())
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def hot_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many operations the hot path answered (each appends 1)."""
    runs: list[int] = []
    real = hot_path.run

    async def counted(executor: Any) -> Any:
        data = await real(executor)
        runs.append(1)
        return data

    monkeypatch.setattr(hot_path, "run", counted)
    return runs


def _refusals() -> float:
    return REGISTRY.get_sample_value("tandem_rate_limit_refusals_total") or 0.0


async def test_each_hot_query_is_charged_once_and_a_spent_budget_refused_as_before(
    client, services, limited, hot_runs, monkeypatch
):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    body = {"query": HOT, "variables": {"id": item["node_id"]}}
    for used in range(1, BUDGET + 1):
        # Alternately in front of Strawberry and through it: one budget, one point each.
        monkeypatch.setattr(planned.PlannedExecution, "planning", used % 2 == 1)
        response = await limited.post("/graphql", json=body, headers=ada.headers)
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-used"] == str(used)
        assert response.headers["x-ratelimit-remaining"] == str(BUDGET - used)
        cost = response.json()["extensions"]["cost"]
        assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 1
        assert cost["throttleStatus"]["currentlyAvailable"] == BUDGET - used
    assert len(hot_runs) == BUDGET // 2

    monkeypatch.setattr(planned.PlannedExecution, "planning", True)
    before = _refusals()
    refused = await limited.post("/graphql", json=body, headers=ada.headers)
    monkeypatch.setattr(planned.PlannedExecution, "planning", False)
    refused_plain = await limited.post("/graphql", json=body, headers=ada.headers)
    assert refused.status_code == refused_plain.status_code == 429
    assert refused.content == refused_plain.content
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert refused.headers["retry-after"] == refused_plain.headers["retry-after"]
    assert _refusals() == before + 2  # one per refused request, not one per path tried
    assert len(hot_runs) == BUDGET // 2


async def test_a_query_the_plan_refuses_costs_what_it_cost_before(
    client, services, limited, hot_runs
):
    """A hidden item: the hot path gives its point back, Strawberry's path charges it."""
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    draft = await make_item(client, bob, status="draft")
    body = {"query": HOT, "variables": {"id": draft["node_id"]}}
    response = await limited.post("/graphql", json=body, headers=ada.headers)
    assert response.status_code == 200
    assert response.json()["data"] == {"item": None}
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert response.headers["x-ratelimit-used"] == "1"
    assert hot_runs == []


async def test_hot_queries_are_measured_and_logged_as_graphql_operations(
    client, services, hot_runs, caplog
):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    labels = {"method": "POST", "route": "/graphql", "code": "200"}
    name = "tandem_http_request_duration_seconds_count"
    before = REGISTRY.get_sample_value(name, labels) or 0.0
    operations = "tandem_graphql_request_duration_seconds_count"
    operation = {"operation_name": "Hot", "operation_type": "query"}
    operations_before = REGISTRY.get_sample_value(operations, operation) or 0.0
    caplog.set_level("INFO", logger="tandem.request")
    body = {"query": HOT, "variables": {"id": item["node_id"]}}
    response = await client.post("/graphql", json=body, headers=ada.headers)
    assert response.status_code == 200
    assert hot_runs == [1]
    assert REGISTRY.get_sample_value(name, labels) == before + 1
    assert REGISTRY.get_sample_value(operations, operation) == operations_before + 1
    line = [r for r in caplog.records if r.name == "tandem.request"][-1]
    assert line.getMessage().startswith("POST query Hot 200 in ")
    assert getattr(line, "principal_id", None) == ada.id


@pytest.mark.parametrize(
    "headers",
    [
        {"Idempotency-Key": "k-1"},
        {"Accept": "text/event-stream"},
        {"Content-Type": "application/graphql-response+json"},
    ],
)
async def test_requests_other_middleware_or_protocols_handle_go_to_strawberry(
    client, services, hot_runs, headers
):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    body = {"query": HOT, "variables": {"id": item["node_id"]}}
    await client.post("/graphql", json=body, headers={**ada.headers, **headers})
    assert hot_runs == []


async def test_a_declined_query_runs_no_statement_twice(client, services, hot_runs):
    """The hot path's lookup of the caller and its failed plan are not done again."""
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    shown = await make_item(client, ada)
    draft = await make_item(client, bob, status="draft")
    with count_statements(services) as hot:
        body = {"query": HOT, "variables": {"id": shown["node_id"]}}
        assert (await client.post("/graphql", json=body, headers=ada.headers)).status_code == 200
    assert hot_runs == [1]
    assert len(hot) == 2, hot  # the caller's token, the item with its owner
    with count_statements(services) as declined:
        body = {"query": HOT, "variables": {"id": draft["node_id"]}}
        answer = await client.post("/graphql", json=body, headers=ada.headers)
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # The caller's token once; the plan's statement once (it found nothing); then
    # graphql-core's resolver, which words the error: as many as before the hot path.
    assert len(declined) == 3, declined
    assert declined[0] == hot[0]
