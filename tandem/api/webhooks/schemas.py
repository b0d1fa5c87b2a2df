"""REST shapes for webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from tandem.api.schemas import Input
from tandem.api.versioning import ApiVersionIn, ApiVersionText
from tandem.domain.webhooks.records import (
    DeliveryRecord,
    DeliveryStatus,
    Pinged,
    WebhookRecord,
    WebhookWithSecret,
)
from tandem.domain.webhooks.rules import REPLAY_MAX_EVENTS, URL_MAX_LENGTH

EventName = Literal["item.created", "item.updated", "item.deleted", "*"]
# What `url_problem` (tandem/domain/webhooks/rules.py) lets through, written for clients and
# generators: http(s), a host (no credentials), a port up to 65535, no fragment, no spaces.
# Production also wants https and a public address, which it checks when it is given one.
PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = (
    r"^\s*https?://[A-Za-z0-9._~%!$&'()*+,;=-]+"
    rf"(:(0*{PORT})?)?"
    r"([/?][^\s\u0000-\u001f#]*)?\s*$"
)
URL_RULES: dict[str, Any] = {
    "pattern": URL_PATTERN,
    "description": "Where deliveries are POSTed: http(s) here, https to a public address in "
    "production",
}
Url = Field(
    min_length=1,
    max_length=URL_MAX_LENGTH,
    examples=["https://example.com/hooks/tandem"],
    json_schema_extra=URL_RULES,
)
Events = Field(min_length=1, max_length=10, description="Event types to receive; * for all")


class WebhookCreate(Input):
    url: str = Url
    events: list[EventName] = Events


class WebhookUpdate(Input):
    url: str | None = Field(
        default=None, min_length=1, max_length=URL_MAX_LENGTH, json_schema_extra=URL_RULES
    )
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=10)
    active: bool | None = Field(default=None, description="true re-enables a disabled endpoint")
    api_version: ApiVersionIn | None = Field(
        default=None,
        description="Move the payloads' API version forward (never back)",
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    disabled_reason: str | None = Field(description="Why it is inactive, when it is")
    created_at: datetime
    updated_at: datetime
    api_version: ApiVersionText = Field(
        description="The dated API version its deliveries' payloads are written in: the "
        "newest when it was created"
    )


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(
        description="whsec_...: verify deliveries with it. Shown in this answer only.",
    )


ReplayType = Literal["item.created", "item.updated", "item.deleted", "*"]


class ReplayIn(Input):
    since: AwareDatetime = Field(description="Events created at or after this time")
    until: AwareDatetime | None = Field(default=None, description="And before this one")
    types: list[ReplayType] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Only these event types (of those the endpoint hears); default: all",
    )


class ReplayOut(BaseModel):
    webhook_id: int
    queued: int = Field(description=f"Deliveries queued, at most {REPLAY_MAX_EVENTS}")
    next_since: datetime | None = Field(
        description="null: every matching event is queued. Otherwise the bound was reached: "
        "replay again with this as `since` for the rest"
    )


class PingOut(BaseModel):
    webhook_id: int
    ping_id: str = Field(description="The ping's id: its webhook-id header")
    succeeded: bool
    status_code: int | None = Field(description="null when no answer came")
    duration_ms: int
    error: str | None


def ping_out(webhook_id: int, pinged: Pinged) -> PingOut:
    outcome = pinged.outcome
    return PingOut(
        webhook_id=webhook_id,
        ping_id=pinged.ping_id,
        succeeded=outcome.succeeded,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
    )


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None = Field(description="null when no answer came")
    error: str | None
    response_excerpt: str | None = Field(description="The first 1 KiB of the answer's body")


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    event_id: str = Field(description="The event, and the webhook-id header of every attempt")
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="When it is tried next, while pending")
    created_at: datetime
    completed_at: datetime | None
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    has_more: bool
    next_cursor: int | None = Field(description="Pass as `after` for older deliveries")


def webhook_out(webhook: WebhookRecord) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        url=webhook.url,
        events=webhook.events,
        active=webhook.active,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
        api_version=webhook.api_version,
    )


def with_secret(created: WebhookWithSecret) -> WebhookWithSecretOut:
    shown = webhook_out(created.webhook)
    return WebhookWithSecretOut(**shown.model_dump(), secret=created.secret)


def delivery_out(delivery: DeliveryRecord) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        webhook_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_count=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        created_at=delivery.created_at,
        completed_at=delivery.completed_at,
        attempts=[
            AttemptOut(
                number=attempt.number,
                started_at=attempt.started_at,
                duration_ms=attempt.duration_ms,
                status_code=attempt.status_code,
                error=attempt.error,
                response_excerpt=attempt.response_excerpt,
            )
            for attempt in delivery.attempt_log
        ],
    )
