"""GET /api/v1/requests: each caller's own recent requests, as a partner debugging reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tandem.app import create_app
from tandem.domain.requests.records import RequestEntry
from tandem.domain.requests.service import purge_request_log
from tandem.persistence.database import Database
from tandem.persistence.requests.writer import RequestLogWriter
from tests.api.assertions import assert_problem
from tests.factories import make_account
from tests.partners.helpers import bearer, make_client

REQUESTS = "/api/v1/requests"
ITEMS = "/api/v1/items"
FIELDS = {
    "id",
    "created_at",
    "method",
    "route",
    "status",
    "error_code",
    "request_id",
    "idempotency_key",
    "duration_ms",
    "user_id",
    "client_id",
}


@pytest.fixture
async def logged(settings, services) -> AsyncIterator[tuple[httpx.AsyncClient, RequestLogWriter]]:
    """A client of an app whose request log the test writes when it wants (`flush`)."""
    writer = RequestLogWriter()
    app = create_app(settings, services=services, request_log=writer)
    async with writer.running(services.database):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, writer


async def test_a_caller_reads_its_own_requests_newest_first_failures_and_successes(
    logged, services
):
    client, writer = logged
    ada = await make_account(services, client)
    created = await client.post(
        ITEMS, json={"title": "Lamp"}, headers={**ada.headers, "Idempotency-Key": "k-1"}
    )
    assert created.status_code == 201
    missing = await client.get(f"{ITEMS}/999999", headers=ada.headers)
    assert missing.status_code == 404
    bad = await client.post(ITEMS, json={"title": ""}, headers=ada.headers)
    assert bad.status_code == 422
    await writer.flush()

    page = await client.get(REQUESTS, headers=ada.headers)
    assert page.status_code == 200, page.text
    lines = page.json()["items"]
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("POST", "/api/v1/items", 422),
        ("GET", "/api/v1/items/{item_id}", 404),
        ("POST", "/api/v1/items", 201),
    ]
    assert all(set(line) == FIELDS for line in lines)  # no body, no header but the key
    assert [line["error_code"] for line in lines] == ["VALIDATION_FAILED", "NOT_FOUND", None]
    assert [line["idempotency_key"] for line in lines] == [None, None, "k-1"]
    assert lines[1]["request_id"] == missing.headers["x-request-id"]
    assert all(line["user_id"] == ada.id and line["client_id"] is None for line in lines)
    assert all(line["duration_ms"] >= 0 for line in lines)
    assert lines[0]["id"].startswith("req_")


async def test_every_token_and_client_of_the_user_shows_and_no_other_user(logged, services):
    client, writer = logged
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    client_id, secret = await make_client(services, user_id=ada.id)
    granted = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert granted.status_code == 200, granted.text
    partner = bearer(granted.json()["access_token"])
    assert (await client.get(ITEMS, headers=partner)).status_code == 200
    assert (await client.get(ITEMS, headers=bob.headers)).status_code == 200
    assert (await client.get(ITEMS)).status_code == 401  # anonymous: in nobody's log
    await writer.flush()

    ada_lines = (await client.get(REQUESTS, headers=ada.headers)).json()["items"]
    assert [(line["route"], line["client_id"]) for line in ada_lines] == [
        ("/api/v1/items", client_id)
    ]
    bob_lines = (await client.get(REQUESTS, headers=bob.headers)).json()["items"]
    assert [line["user_id"] for line in bob_lines] == [bob.id]
    # The partner's own token reads the same log: the user's, across its tokens and clients.
    await writer.flush()
    from_partner = (await client.get(REQUESTS, headers=partner)).json()["items"]
    assert {line["user_id"] for line in from_partner} == {ada.id}

    refused = await client.get(REQUESTS, params={"user_id": bob.id}, headers=ada.headers)
    assert_problem(refused, 403, "FORBIDDEN")


async def test_administrators_read_one_users_requests(logged, services):
    client, writer = logged
    root = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    assert (await client.get(f"{ITEMS}/1", headers=ada.headers)).status_code == 404
    await writer.flush()
    page = await client.get(REQUESTS, params={"user_id": ada.id}, headers=root.headers)
    assert page.status_code == 200
    assert [line["user_id"] for line in page.json()["items"]] == [ada.id]


async def test_pages_go_back_in_time_with_a_cursor_and_a_link(logged, services):
    client, writer = logged
    ada = await make_account(services, client)
    for _ in range(3):
        assert (await client.get(ITEMS, headers=ada.headers)).status_code == 200
    await writer.flush()
    first = await client.get(REQUESTS, params={"limit": 2}, headers=ada.headers)
    body = first.json()
    assert len(body["items"]) == 2 and body["has_more"] is True
    assert 'rel="next"' in first.headers["link"]
    rest = await client.get(
        REQUESTS, params={"limit": 2, "after": body["next_cursor"]}, headers=ada.headers
    )
    # The first page's own GET was logged too, after the three lists: it is not in this read.
    older = rest.json()
    assert len(older["items"]) == 1 and older["has_more"] is False
    assert older["next_cursor"] is None
    ids = [line["id"] for line in body["items"] + older["items"]]
    assert len(set(ids)) == 3


@pytest.mark.parametrize("after", ["evt_1", "req_", "req_x1", "req_" + "9" * 30])
async def test_a_cursor_that_is_not_one_is_a_422_naming_after(logged, services, after):
    client, _ = logged
    ada = await make_account(services, client)
    response = await client.get(REQUESTS, params={"after": after}, headers=ada.headers)
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["loc"] == ["query", "after"]


async def test_anonymous_callers_have_no_log(logged):
    client, _ = logged
    assert_problem(await client.get(REQUESTS), 401, "UNAUTHENTICATED")


async def test_graphql_requests_are_logged_with_their_first_error_code(logged, services):
    client, writer = logged
    ada = await make_account(services, client)
    answer = await client.post(
        "/graphql", json={"query": '{ item(id: "SXRlbTo5OTk5") { id } }'}, headers=ada.headers
    )
    assert answer.status_code == 200
    await writer.flush()
    lines = (await client.get(REQUESTS, headers=ada.headers)).json()["items"]
    graphql = [line for line in lines if line["route"] == "/graphql"]
    assert len(graphql) == 1
    codes = [error["extensions"]["code"] for error in answer.json().get("errors", [])]
    assert graphql[0]["error_code"] == (codes[0] if codes else None)


async def test_the_worker_purges_lines_older_than_seven_days(services):
    now = datetime.now(UTC)

    def line(at: datetime) -> RequestEntry:
        return RequestEntry(at, 1, None, "GET", "/api/v1/items", 200, None, "r", None, 1.0)

    async with services.database.transaction() as uow:
        await uow.requests.append([line(now - timedelta(days=8)), line(now - timedelta(days=6))])
    assert await purge_request_log(services.database) == 1
    async with services.database.reader() as uow:
        left = await uow.requests.newest_first(user_id=1, before=None, limit=10)
    assert [logged.entry.at.date() for logged in left] == [(now - timedelta(days=6)).date()]


async def test_lines_wait_out_a_database_fault_and_are_written_after(services, settings):
    writer = RequestLogWriter()
    entry = RequestEntry(
        datetime.now(UTC), 7, None, "POST", "/api/v1/items", 503, "UNAVAILABLE", "r", None, 2.0
    )
    writer.record(entry)
    down = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none", acquire_timeout=0.5)
    async with writer.running(down):
        assert await writer.flush() == 0  # nothing lost: kept for the next try
    async with writer.running(services.database):
        pass  # leaving the block writes what is left
    async with services.database.reader() as uow:
        left = await uow.requests.newest_first(user_id=7, before=None, limit=10)
    assert [logged.entry.status for logged in left] == [503]
