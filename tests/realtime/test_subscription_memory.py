"""A long subscription keeps nothing per event: graphql-core's field cache stays bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tandem.domain.events.records import EventRecord, EventType, Position
from tandem.graphql.context import Context
from tandem.graphql.items.types import Item
from tandem.graphql.plan.executor import PlannedExecution
from tandem.graphql.schema import Mutation, Query, Subscription, TandemSchema
from tandem.graphql.users.types import User
from tandem.http.admission import Admission
from tests.factories import make_account

QUERY = "subscription { itemChanged { kind itemId item { title version status } } }"
EVENTS = 2_000


def event(number: int, owner: int) -> EventRecord:
    return EventRecord(
        id=f"evt_{number:026x}",
        type=EventType.ITEM_UPDATED,
        item_id=number,
        owner_id=owner,
        draft=False,
        data={
            "item": {
                "id": number,
                "owner_id": owner,
                "title": f"Item {number}",
                "status": "published",
                "version": 2,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
        },
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        position=Position(number, number),
    )


async def test_thousands_of_events_through_one_subscription_leave_no_cache_behind(
    services, client, monkeypatch
):
    watcher = await make_account(services, client)
    principal = await services.auth.authenticate(watcher.access_token)
    operations: list[PlannedExecution] = []  # the subscription's executor
    per_event: list[PlannedExecution] = []
    build = PlannedExecution.build_per_event_executor

    def spy(self: PlannedExecution, payload: object) -> PlannedExecution:
        if not operations:
            operations.append(self)
        executor = build(self, payload)
        per_event.append(executor)
        del per_event[:-1]  # keep the latest only
        return executor

    monkeypatch.setattr(PlannedExecution, "build_per_event_executor", spy)
    admission = Admission(
        services=services,
        request_id="memory-test",
        address=None,
        credential=f"Bearer {watcher.access_token}",
    )
    context = Context(admission=admission, principal=principal)
    # The app's schema and executor, without the admission extension (it wants an HTTP request).
    schema = TandemSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Item, User],
        execution_context_class=PlannedExecution,
    )
    results = await schema.subscribe(QUERY, context_value=context)
    fanout = services.subscriptions.fanout
    try:
        for number in range(1, EVENTS + 1):
            pulled = asyncio.ensure_future(results.__anext__())
            async with asyncio.timeout(10):
                while not len(fanout):  # noqa: ASYNC110 (it registers inside the first pull)
                    await asyncio.sleep(0.001)
            fanout.publish([event(number, watcher.id)])
            result = await pulled
            assert result.errors is None, result.errors
            assert result.data["itemChanged"]["item"]["title"] == f"Item {number}"
    finally:
        await results.aclose()
    (operation,) = operations
    # Before, every event added entries to the operation's cache: 2 per event here.
    assert len(operation._relevant_sub_fields) < 10
    assert len(per_event[-1]._relevant_sub_fields) < 10
