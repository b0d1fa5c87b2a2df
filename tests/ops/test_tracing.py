"""Traces from a real `tandem serve` to a real OTLP/HTTP receiver, and out to a webhook.

The caller's W3C `traceparent` is continued by a server span named by the route or the
GraphQL operation; each SQL statement is a client span (`db.system` `postgresql`); the
change's trace rides on its outbox rows to the worker's webhook and mail spans, and the
webhook request carries it to the receiver; log lines carry `trace_id`. With the OTEL_*
variables unset, nothing is traced and nothing is stored.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx

from tests.factories import make_account, make_item
from tests.ops.otlp_receiver import Span
from tests.ops.otlp_receiver import running as otlp_running
from tests.ops.served import serve
from tests.webhooks.receiver import Receiver
from tests.webhooks.receiver import running as webhook_running

PASSWORD = "correct horse battery staple"
SERVER, CLIENT, CONSUMER = 2, 3, 5  # OTLP's SpanKind values


def caller_trace() -> tuple[str, str, str]:
    """A caller's trace id, its span id, and the traceparent header that names them."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def one(spans: list[Span]) -> Span:
    assert len(spans) == 1, spans
    return spans[0]


async def test_a_change_is_traced_from_the_caller_through_sql_to_the_webhook_and_mail(
    database_url: str, tmp_path: Path
) -> None:
    with otlp_running() as otlp:
        async with webhook_running(Receiver()) as hooks:
            served = await asyncio.to_thread(
                serve,
                database_url,
                tmp_path,
                OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
                OTEL_SERVICE_NAME="tandem-under-test",
                OTEL_BSP_SCHEDULE_DELAY="100",
                LOG_FORMAT="json",
                RATE_LIMIT="off",
                WORKER_POLL_SECONDS="0.5",
            )
            try:
                async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
                    await exercise(client, otlp, hooks, served.log)
            finally:
                await asyncio.to_thread(served.stop)


async def exercise(client: httpx.AsyncClient, otlp, hooks: Receiver, log) -> None:
    # A sign-up, traced by its caller: the welcome mail is sent in the same trace.
    signup_trace, signup_parent, signup_header = caller_trace()
    user = {"email": "traced@example.com", "name": "Traced", "password": PASSWORD}
    registered = await client.post(
        "/api/v1/auth/register", json=user, headers={"traceparent": signup_header}
    )
    assert registered.status_code == 201, registered.text
    signup = one(otlp.wait_for(lambda s: s.trace_id == signup_trace and s.kind == SERVER))
    assert signup.name == "POST /api/v1/auth/register"
    assert signup.parent_span_id == signup_parent  # the caller's span, continued
    assert signup.service == "tandem-under-test"
    statements = otlp.wait_for(lambda s: s.trace_id == signup_trace and s.kind == CLIENT)
    assert statements and all(s.attributes["db.system"] == "postgresql" for s in statements)
    assert any("INSERT INTO users" in str(s.attributes.get("db.statement")) for s in statements)
    mail = one(otlp.wait_for(lambda s: s.trace_id == signup_trace and s.name == "mail"))
    assert mail.kind == CONSUMER and mail.parent_span_id == signup.span_id

    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": user["email"], "password": PASSWORD},
    )
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    hook = await client.post(
        "/api/v1/webhooks", json={"url": hooks.url, "events": ["*"]}, headers=bearer
    )
    assert hook.status_code == 201, hook.text

    # An item created under the caller's trace: the webhook's span and request continue it.
    item_trace, item_parent, item_header = caller_trace()
    created = await client.post(
        "/api/v1/items", json={"title": "Traced"}, headers={**bearer, "traceparent": item_header}
    )
    assert created.status_code == 201, created.text
    [delivered] = await hooks.wait_for(1)
    received = delivered.headers["traceparent"].split("-")
    assert received[1] == item_trace  # the receiver hears the change's trace
    write = one(otlp.wait_for(lambda s: s.trace_id == item_trace and s.kind == SERVER))
    assert write.name == "POST /api/v1/items" and write.parent_span_id == item_parent
    assert write.attributes["http.route"] == "/api/v1/items"
    delivery = one(otlp.wait_for(lambda s: s.trace_id == item_trace and s.name == "webhooks"))
    assert delivery.parent_span_id == write.span_id and delivery.kind == CONSUMER
    request = one(
        otlp.wait_for(lambda s: s.trace_id == item_trace and s.kind == CLIENT and s.name == "POST")
    )
    assert request.parent_span_id == delivery.span_id
    assert received[2] == request.span_id  # the webhook request's own span is the parent

    # GraphQL (one route, one executor): the server span is named by the operation.
    read_trace, _, read_header = caller_trace()
    query = {"query": "query WhoAmI { me { email } }", "operationName": "WhoAmI"}
    answered = await client.post(
        "/graphql", json=query, headers={**bearer, "traceparent": read_header}
    )
    assert answered.status_code == 200 and answered.json()["data"]["me"]["email"]
    graphql = one(otlp.wait_for(lambda s: s.trace_id == read_trace and s.kind == SERVER))
    assert graphql.name == "query WhoAmI"
    assert graphql.attributes["graphql.operation.name"] == "WhoAmI"
    write_trace, _, write_header = caller_trace()
    mutation = {
        "query": "mutation Make($input: CreateItemInput!) { createItem(input: $input) { title } }",
        "variables": {"input": {"title": "By GraphQL"}},
    }
    made = await client.post(
        "/graphql", json=mutation, headers={**bearer, "traceparent": write_header}
    )
    assert made.status_code == 200 and "errors" not in made.json(), made.text
    named = one(otlp.wait_for(lambda s: s.trace_id == write_trace and s.kind == SERVER))
    assert named.name == "mutation Make"

    # Log lines carry the trace: the item's request line names the caller's trace.
    lines = [json.loads(line) for line in log().splitlines() if line.startswith("{")]
    [line] = [
        entry
        for entry in lines
        if entry.get("route") == "/api/v1/items" and entry.get("method") == "POST"
    ]
    assert line["trace_id"] == item_trace
    assert otlp.paths and set(otlp.paths) == {"/v1/traces"}


async def test_with_tracing_off_no_trace_is_stored_or_sent(services, client):
    owner = await make_account(services, client)
    _, _, header = caller_trace()
    response = await client.post(
        "/api/v1/items",
        json={"title": "Untraced"},
        headers={**owner.headers, "traceparent": header},
    )
    assert response.status_code == 201
    assert "traceparent" not in response.headers
    await make_item(client, owner)
    async with services.database.reader() as uow:
        stored = await uow.connection.raw.fetch("SELECT traceparent FROM events")
    assert [row[0] for row in stored] == [None, None]
