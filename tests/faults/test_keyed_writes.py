"""A stopped database answers a keyed write as it answers any other: 503, never 500.

Found by the soak of issue 22: `POST /items` with an Idempotency-Key answered 500 and
a traceback while PostgreSQL was stopped (the same write without the key: 503), and a
GraphQL mutation with a key answered 500 as problem+json. Each middleware a write
passes (the Idempotency-Key's, the GraphQL hot path's, Strawberry's view) is crossed
here with the database stopped.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.factories import make_account
from tests.faults.conftest import Served
from tests.faults.test_database_faults import assert_unavailable

ITEMS = "/api/v1/items"
CREATE = {"query": 'mutation { createItem(input: {title: "Lost?"}) { id } }'}
QUERY = {"query": "{ items(first: 5) { totalCount nodes { title } } }"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def assert_graphql_unavailable(response, *, started: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert int(response.headers["retry-after"]) >= 1
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAVAILABLE"]
    assert "Traceback" not in response.text
    assert time.monotonic() - started < 5


async def test_keyed_writes_answer_503_on_both_faces_while_the_database_is_stopped(
    served: Served, caplog: pytest.LogCaptureFixture
):
    account = await make_account(served.services, served.client)
    await served.own.stop()
    try:
        # REST: with and without the key, the same 503 problem.
        for headers in ({}, key()):
            started = time.monotonic()
            response = await served.client.post(
                ITEMS, json={"title": "Lost?"}, headers={**account.headers, **headers}
            )
            assert_unavailable(response, within=5, started=started)
        # GraphQL: a mutation with a key, a query (the hot path), in GraphQL's shape.
        for body, headers in ((CREATE, key()), (CREATE, {}), (QUERY, {})):
            started = time.monotonic()
            response = await served.client.post(
                "/graphql", json=body, headers={**account.headers, **headers}
            )
            assert_graphql_unavailable(response, started=started)
    finally:
        await served.own.start()
    assert not [r for r in caplog.records if r.levelname == "ERROR"], [
        r.getMessage() for r in caplog.records if r.levelname == "ERROR"
    ]
