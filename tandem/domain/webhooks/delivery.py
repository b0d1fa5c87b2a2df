"""Deliver one claimed event: sign it, send it, then succeed, schedule a retry, or give up.

Giving up (the schedule is spent) disables the endpoint; its owner re-enables it
with `PATCH active: true`, and the deliveries still waiting resume.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import orjson

from tandem.domain.documents import iso
from tandem.domain.events.documents import event_document
from tandem.domain.webhooks.ports import DeliveryQueue, WebhookSender
from tandem.domain.webhooks.records import ClaimedDelivery, Outcome, WebhookRecord
from tandem.domain.webhooks.schedule import RetrySchedule
from tandem.domain.webhooks.sealing import SecretSeal
from tandem.domain.webhooks.signing import signed_headers

USER_AGENT = "Tandem-Webhooks/1.0"


def delivery_body(claimed: ClaimedDelivery) -> bytes:
    """The event as JSON: the same bytes on every attempt of every delivery of it."""
    return orjson.dumps(event_document(claimed.event))


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
    ) -> None:
        self._queue = queue
        self._sender = sender
        self._schedule = schedule
        self._seal = seal

    async def deliver(self, claimed: ClaimedDelivery) -> Attempted:
        body = delivery_body(claimed)
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
