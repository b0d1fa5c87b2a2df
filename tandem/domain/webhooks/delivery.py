"""Deliver one claimed event: sign it, send it, then succeed, schedule a retry, or give up.

Giving up (the schedule is spent) disables the endpoint; its owner re-enables it
with `PATCH active: true`, and the deliveries still waiting resume.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import orjson

from tandem.domain.events.documents import event_document
from tandem.domain.webhooks.ports import DeliveryQueue, WebhookSender
from tandem.domain.webhooks.records import ClaimedDelivery, Outcome
from tandem.domain.webhooks.schedule import RetrySchedule
from tandem.domain.webhooks.signing import signed_headers

USER_AGENT = "Tandem-Webhooks/1.0"


def delivery_body(claimed: ClaimedDelivery) -> bytes:
    """The event as JSON: the same bytes on every attempt of every delivery of it."""
    return orjson.dumps(event_document(claimed.event))


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
        self, *, queue: DeliveryQueue, sender: WebhookSender, schedule: RetrySchedule
    ) -> None:
        self._queue = queue
        self._sender = sender
        self._schedule = schedule

    async def deliver(self, claimed: ClaimedDelivery) -> Attempted:
        body = delivery_body(claimed)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **signed_headers(
                claimed.secrets, msg_id=claimed.event.id, timestamp=int(time.time()), body=body
            ),
        }
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
