"""A request leaves nothing for the garbage collector: its objects go when it ends.

Left in reference cycles (RequestContext's replies naming each other, graphql-core's
executor and its resolve-info helpers), every request's scope, admission, context and
executor (some 75 objects) waited for the collector, which then ran every ten requests
or so, 180 µs each time, to free them. Broken, the GraphQL item query took 3.7% fewer
instructions (callgrind, bench/asgi_cost.py's graphql-item).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tandem.graphql.plan.executor import PlannedExecution
from tandem.http.admission import Admission
from tests.factories import make_account, make_item

ITEM = "query($id: ID!) { item(id: $id) { id title price owner { name } } }"


@pytest.fixture
def garbage() -> Iterator[list[object]]:
    """What the collector finds unreachable while the test runs (nothing is freed)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def test_a_graphql_and_a_rest_request_leave_no_cycles(client, services, garbage):
    ada = await make_account(services, client)
    item = await make_item(client, ada, title="Lamp")
    gc.collect()
    garbage.clear()
    answer = await client.post(
        "/graphql", json={"query": ITEM, "variables": {"id": item["node_id"]}}, headers=ada.headers
    )
    assert answer.json()["data"]["item"]["title"] == "Lamp"
    rest = await client.get(f"/api/v1/items/{item['id']}", headers=ada.headers)
    assert rest.status_code == 200
    gc.collect()
    left = [
        kind.__name__
        for kind in (Admission, PlannedExecution)
        for o in garbage
        if isinstance(o, kind)
    ]
    assert left == []
