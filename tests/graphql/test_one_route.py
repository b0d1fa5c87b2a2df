"""One route for GraphQL over HTTP, and one executor behind it.

Every HTTP GraphQL request (POST and GET, one operation or a batch, and a query over
graphql-sse) is run by the one operation function (tandem/graphql/execution.py) and the
planned executor (tandem/graphql/plan/executor.py), which completes each root field's
value; a hidden item runs its statement once (the hot path that stood in front of
Strawberry's view ran it, failed, and left Strawberry to run it again); the charge is
made once, and a spent budget answers 429 with Retry-After; the request's metrics and
log line name the route and the operation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.domain.services import Services
from tandem.graphql import execution
from tandem.graphql.plan import executor as planned
from tandem.persistence.counters import MemoryCounters
from tests.factories import make_account, make_item
from tests.statements import count_statements

ITEM = "query Hot($id: ID!) { item(id: $id) { id title owner { name } } }"
BUDGET = 4


@pytest.fixture
def completed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The root fields the plan completed, by response key, in order."""
    keys: list[str] = []
    real = planned.PlannedExecution.complete_value

    def counted(self: Any, return_type: Any, details: Any, info: Any, path: Any, *rest: Any) -> Any:
        if path.prev is None:
            keys.append(path.key)
        return real(self, return_type, details, info, path, *rest)

    monkeypatch.setattr(planned.PlannedExecution, "complete_value", counted)
    yield keys


@pytest.fixture
def admitted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """The operations the one operation function admitted, by operation name."""
    names: list[str | None] = []
    real = execution._admit

    async def counted(*args: Any) -> Any:
        found = await real(*args)
        names.append(getattr(found, "operation_name", None))
        return found

    monkeypatch.setattr(execution, "_admit", counted)
    yield names


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


async def test_post_get_batch_and_sse_take_the_one_route_to_the_planned_executor(
    client, services, completed, admitted
):
    ada = await make_account(services, client)
    item = await make_item(client, ada, title="Lamp")
    variables = {"id": item["node_id"]}
    single = await client.post(
        "/graphql", json={"query": ITEM, "variables": variables}, headers=ada.headers
    )
    assert single.json()["data"]["item"]["title"] == "Lamp"
    got = await client.get(
        "/graphql",
        params={"query": ITEM, "variables": f'{{"id": "{item["node_id"]}"}}'},
        headers=ada.headers,
    )
    assert got.json()["data"]["item"]["title"] == "Lamp"
    batch = await client.post(
        "/graphql",
        json=[
            {"query": ITEM, "variables": variables},
            {"query": "{ a: items(first: 1) { nodes { title } } }"},
        ],
        headers=ada.headers,
    )
    assert [answer["data"] for answer in batch.json()] == [
        {
            "item": {
                "id": item["node_id"],
                "title": "Lamp",
                "owner": {"name": single.json()["data"]["item"]["owner"]["name"]},
            }
        },
        {"a": {"nodes": [{"title": "Lamp"}]}},
    ]
    streamed = await client.post(
        "/graphql",
        json={"query": ITEM, "variables": variables},
        headers={**ada.headers, "Accept": "text/event-stream"},
    )
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert '"title":"Lamp"' in streamed.text.replace(" ", "")
    assert admitted == ["Hot", "Hot", "Hot", None, "Hot"]  # POST, GET, a batch of 2, SSE
    assert completed == ["item", "item", "item", "a", "item"]


async def test_a_hidden_item_runs_its_statement_once(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    draft = await make_item(client, bob, status="draft")
    with count_statements(services) as statements:
        body = {"query": ITEM, "variables": {"id": draft["node_id"]}}
        answer = await client.post("/graphql", json=body, headers=ada.headers)
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert len(statements) == 2, statements  # the caller's token, the item


def _refusals() -> float:
    return REGISTRY.get_sample_value("tandem_rate_limit_refusals_total") or 0.0


async def test_each_query_is_charged_once_and_a_spent_budget_refused(client, services, limited):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    body = {"query": ITEM, "variables": {"id": item["node_id"]}}
    for used in range(1, BUDGET + 1):
        response = await limited.post("/graphql", json=body, headers=ada.headers)
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-used"] == str(used)
        cost = response.json()["extensions"]["cost"]
        assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 1
        assert cost["throttleStatus"]["currentlyAvailable"] == BUDGET - used
    before = _refusals()
    refused = await limited.post("/graphql", json=body, headers=ada.headers)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) > 0
    assert _refusals() == before + 1


async def test_queries_are_measured_and_logged_as_graphql_operations(client, services, caplog):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    labels = {"method": "POST", "route": "/graphql", "code": "200"}
    name = "tandem_http_request_duration_seconds_count"
    before = REGISTRY.get_sample_value(name, labels) or 0.0
    operations = "tandem_graphql_request_duration_seconds_count"
    operation = {"operation_name": "Hot", "operation_type": "query"}
    operations_before = REGISTRY.get_sample_value(operations, operation) or 0.0
    caplog.set_level("INFO", logger="tandem.request")
    body = {"query": ITEM, "variables": {"id": item["node_id"]}}
    response = await client.post("/graphql", json=body, headers=ada.headers)
    assert response.status_code == 200
    assert REGISTRY.get_sample_value(name, labels) == before + 1
    assert REGISTRY.get_sample_value(operations, operation) == operations_before + 1
    line = [r for r in caplog.records if r.name == "tandem.request"][-1]
    assert line.getMessage().startswith("POST query Hot 200 in ")
    assert getattr(line, "principal_id", None) == ada.id
