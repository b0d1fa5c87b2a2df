"""Deliver one claimed event: sign it, send it, then succeed, schedule a retry, or give up.

Giving up (the schedule is spent) disables the endpoint; its owner re-enables it
with `PATCH active: true`, and the deliveries still waiting resume.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from tandem.domain.documents import iso
from tandem.domain.events.documents import event_document
from tandem.domain.webhooks.ports import DeliveryQueue, WebhookSender
from tandem.domain.webhooks.records import ClaimedDelivery, Outcome, WebhookRecord
from tandem.domain.webhooks.schedule import RetrySchedule
from tandem.domain.webhooks.sealing import SecretSeal
from tandem.domain.webhooks.signing import signed_headers

USER_AGENT = "Tandem-Webhooks/1.0"


# How an event's document is written in an endpoint's pinned API version (a date), from
# the newest: the edge's (tandem/http/versions/render.py `event_in`), given by the
# composition root. The domain knows no version but the newest, which it writes.
PayloadShape = Callable[[str, dict[str, Any]], dict[str, Any]]


def delivery_body(claimed: ClaimedDelivery, shape: PayloadShape | None = None) -> bytes:
    """The event as JSON in the endpoint's version: the same bytes on every attempt."""
    document = event_document(claimed.event)
    if shape is not None and claimed.api_version is not None:
        document = shape(claimed.api_version, document)
    return orjson.dumps(document)


PING = "ping"


def new_ping_id() -> str:
    return "ping_" + secrets.token_hex(12)


def ping_body(ping_id: str, webhook: WebhookRecord) -> bytes:
    """A `ping` event: the events' shape, with the endpoint it tests as its data."""
    return orjson.dumps(
        {
            "id": ping_id,
            "type": PING,
            "created_at": iso(datetime.now(UTC)),
            "data": {"webhook": {"id": webhook.id, "url": webhook.url, "events": webhook.events}},
        }
    )


def delivery_headers(
    secrets_in_use: tuple[str, ...], *, msg_id: str, body: bytes
) -> dict[str, str]:
    """What every delivery carries: JSON, our user agent, and the Standard Webhooks headers."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(secrets_in_use, msg_id=msg_id, timestamp=int(time.time()), body=body),
    }


class Verdict(StrEnum):
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"  # the schedule is spent: the endpoint is disabled


@dataclass(frozen=True, slots=True)
class Attempted:
    outcome: Outcome
    verdict: Verdict
    attempt: int


def describe(outcome: Outcome) -> str:
    return outcome.error or f"HTTP {outcome.status_code}"


class Deliverer:
    def __init__(
        self,
        *,
        queue: DeliveryQueue,
        sender: WebhookSender,
        schedule: RetrySchedule,
        seal: SecretSeal,
        shape: PayloadShape | None = None,
    ) -> None:
        self._queue = queue
        self._sender = sender
        self._schedule = schedule
        self._seal = seal
        self._shape = shape

    async def deliver(self, claimed: ClaimedDelivery) -> Attempted:
        body = delivery_body(claimed, self._shape)
        secrets_in_use = self._seal.open_all(claimed.secrets)
        headers = delivery_headers(secrets_in_use, msg_id=claimed.event.id, body=body)
        outcome = await self._sender.send(claimed.url, body=body, headers=headers)
        retry_in = None if outcome.succeeded else self._schedule.delay_after(claimed.attempt)
        disable_reason = None
        if not outcome.succeeded and retry_in is None:
            disable_reason = (
                f"disabled after {claimed.attempt} failed attempts (last: {describe(outcome)})"
            )
        await self._queue.finish(claimed, outcome, retry_in=retry_in, disable_reason=disable_reason)
        if outcome.succeeded:
            verdict = Verdict.SUCCEEDED
        else:
            verdict = Verdict.RETRYING if retry_in is not None else Verdict.FAILED
        return Attempted(outcome, verdict, claimed.attempt)
