"""Webhook endpoints, their deliveries and attempts, as the use cases see them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tandem.domain.events.records import EventRecord


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: int
    owner_id: int
    url: str
    events: list[str]
    active: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    api_version: str  # the dated API version its deliveries' payloads are written in


@dataclass(frozen=True, slots=True)
class WebhookWithSecret:
    """An endpoint and its signing secret: the one answer that shows the secret."""

    webhook: WebhookRecord
    secret: str


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# What the log says of an attempt with no outcome yet (duration 0, no status).
IN_FLIGHT = "in flight: no answer yet"
CUT_SHORT = "no outcome: the worker stopped during this attempt; the delivery is tried again"


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    endpoint_id: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[AttemptRecord]


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay queued: how many, and where to start the next one if it hit the bound."""

    queued: int
    next_since: datetime | None  # None: every matching event is queued


@dataclass(frozen=True, slots=True)
class SigningTarget:
    """Where an endpoint's deliveries go and the secrets (as stored) that sign them."""

    url: str
    secrets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pinged:
    """A ping's id (its `webhook-id`) and what the receiver answered."""

    ping_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a worker holds a lease on: everything needed to send it once."""

    delivery_id: int
    lease_token: uuid.UUID
    attempt: int  # this attempt's number, from 1
    endpoint_id: int
    url: str
    secrets: tuple[str, ...]  # the current secret, and the previous one during a rotation
    event: EventRecord
    trace_context: str | None = None  # W3C traceparent of the change, when it was traced
    api_version: str | None = None  # the endpoint's pinned API version: the body's shape


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: a status (None if no answer), how long, and why it failed."""

    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300
