"""What webhook use cases need from storage and from the network; adapters implement them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from tandem.domain.webhooks.records import (
    ClaimedDelivery,
    DeliveryRecord,
    Outcome,
    Replayed,
    SigningTarget,
    WebhookRecord,
)


class WebhookStore(Protocol):
    """Endpoints and their delivery log (tandem/persistence/webhooks/repository.py)."""

    async def add(
        self, *, owner_id: int, url: str, events: list[str], secret: str, api_version: str
    ) -> WebhookRecord: ...

    async def count_owned(self, owner_id: int) -> int: ...

    async def owned(self, owner_id: int) -> list[WebhookRecord]: ...

    async def get_owned(
        self, webhook_id: int, owner_id: int, *, for_update: bool = False
    ) -> WebhookRecord | None: ...

    async def update(self, webhook_id: int, values: Mapping[str, Any]) -> WebhookRecord: ...

    async def delete(self, webhook_id: int) -> None: ...

    async def disable_owned(self, owner_id: int, *, reason: str) -> list[WebhookRecord]:
        """Disable the owner's active endpoints, saying why; the ones it disabled."""

    async def rotate_secret(
        self, webhook_id: int, *, secret: str, keep_previous_seconds: int
    ) -> WebhookRecord:
        """Sign with `secret` from now on, and with the old one too for a while."""

    async def deliveries(
        self, webhook_id: int, *, before: int | None, limit: int
    ) -> list[DeliveryRecord]:
        """The endpoint's deliveries, newest first, each with its attempts."""

    async def redeliver(self, webhook_id: int, delivery_id: int) -> DeliveryRecord | None:
        """A new delivery of the same event to the same endpoint, due now; wakes a worker."""

    async def replay(
        self,
        webhook_id: int,
        *,
        since: datetime,
        until: datetime | None,
        types: list[str] | None,
        limit: int,
    ) -> Replayed:
        """A new delivery, due now, of each event from `since` (oldest first, at most `limit`)
        that the endpoint subscribes to and its owner may see; wakes a worker."""

    async def signing_target(self, webhook_id: int) -> SigningTarget:
        """The endpoint's URL and the secrets (current, and previous while live) it signs with."""


class DeliveryQueue(Protocol):
    """The workers' side of deliveries (tandem/persistence/webhooks/queue.py)."""

    async def claim(
        self, *, limit: int, lease_seconds: float, token: uuid.UUID
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries; others skip them until the lease runs out."""

    async def finish(
        self,
        claimed: ClaimedDelivery,
        outcome: Outcome,
        *,
        retry_in: float | None,
        disable_reason: str | None,
    ) -> bool:
        """Record the attempt; then succeed, retry in `retry_in` s, or fail (and disable).

        False when the lease was lost meanwhile (another worker owns the delivery now):
        the attempt is recorded, the delivery's state left to its new owner.
        """

    async def lag_seconds(self) -> float:
        """The age of the oldest event whose delivery still waits (0 when none waits)."""

    async def seconds_to_next_due(self) -> float | None:
        """Seconds until the soonest waiting delivery (or expiring lease) falls due."""


class WebhookSender(Protocol):
    async def send(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """POST once; never raises for the receiver's faults (they are the outcome)."""


class DestinationGuard(Protocol):
    async def problem(self, url: str) -> str | None:
        """Why Tandem may not call `url` (a non-public address), or None."""
