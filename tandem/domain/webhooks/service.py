"""Webhook endpoint use cases: register, read, change, delete, rotate, the log, redeliver.

An endpoint belongs to its owner alone: another user's (admins' included) is not
found. It hears the events its owner may see (see the outbox's `append`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tandem.domain.errors import Conflict, NotFound, ValidationFailed
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.pages import MAX_PAGE_SIZE
from tandem.domain.principal import WEBHOOKS_READ, WEBHOOKS_WRITE, Principal, signed_in
from tandem.domain.values import UNSET
from tandem.domain.versions import forward_only
from tandem.domain.webhooks.commands import CreateWebhook, ReplayEvents, UpdateWebhook
from tandem.domain.webhooks.delivery import delivery_headers, new_ping_id, ping_body
from tandem.domain.webhooks.ports import DestinationGuard, WebhookSender
from tandem.domain.webhooks.records import (
    DeliveryRecord,
    Pinged,
    Replayed,
    WebhookRecord,
    WebhookWithSecret,
)
from tandem.domain.webhooks.rules import (
    ALL_EVENTS,
    MAX_WEBHOOKS_PER_USER,
    REPLAY_MAX_EVENTS,
    clean_events,
    url_problem,
)
from tandem.domain.webhooks.sealing import SecretSeal
from tandem.domain.webhooks.signing import new_secret

ROTATION_OVERLAP_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Production: https only, public addresses only (the guard); development lifts both."""

    require_https: bool
    guard: DestinationGuard
    sender: WebhookSender  # for pings, sent from the request
    seal: SecretSeal


@dataclass(frozen=True, slots=True)
class DeliverySlice:
    deliveries: list[DeliveryRecord]
    has_more: bool

    @property
    def next_cursor(self) -> int | None:
        return self.deliveries[-1].id if self.has_more else None


def _not_found(webhook_id: int) -> NotFound:
    return NotFound.missing("webhook", webhook_id)


class WebhookService:
    def __init__(self, *, database: ScopedStore, policy: WebhookPolicy) -> None:
        self._database = database
        self._policy = policy

    async def _checked_url(self, url: str) -> str:
        url = url.strip()
        problem = url_problem(url, require_https=self._policy.require_https)
        if problem is None:
            problem = await self._policy.guard.problem(url)
        if problem is not None:
            raise ValidationFailed.one(("url",), problem, "url")
        return url

    async def create(
        self, principal: Principal | None, command: CreateWebhook
    ) -> WebhookWithSecret:
        caller = signed_in(principal, scope=WEBHOOKS_WRITE)
        events = clean_events(command.events)
        url = await self._checked_url(command.url)
        secret = new_secret()
        async with self._database.transaction() as uow:
            if await uow.webhooks.count_owned(caller.user_id) >= MAX_WEBHOOKS_PER_USER:
                raise Conflict(f"You have {MAX_WEBHOOKS_PER_USER} webhooks, the most allowed.")
            webhook = await uow.webhooks.add(
                owner_id=caller.user_id,
                url=url,
                events=events,
                secret=self._policy.seal.seal(secret),
                api_version=command.api_version,
            )
        return WebhookWithSecret(webhook, secret)

    async def list(self, principal: Principal | None) -> list[WebhookRecord]:
        caller = signed_in(principal, scope=WEBHOOKS_READ)
        async with self._database.reader() as uow:
            return await uow.webhooks.owned(caller.user_id)

    async def get(self, principal: Principal | None, webhook_id: int) -> WebhookRecord:
        caller = signed_in(principal, scope=WEBHOOKS_READ)
        async with self._database.reader() as uow:
            webhook = await uow.webhooks.get_owned(webhook_id, caller.user_id)
        if webhook is None:
            raise _not_found(webhook_id)
        return webhook

    async def update(
        self, principal: Principal | None, webhook_id: int, command: UpdateWebhook
    ) -> WebhookRecord:
        """Change the URL, the events, `active` or (forward only) `api_version`; enabling
        clears why it was disabled."""
        caller = signed_in(principal, scope=WEBHOOKS_WRITE)
        values: dict[str, Any] = {}
        if command.events is not UNSET:
            values["events"] = clean_events(command.events)
        if command.url is not UNSET:
            values["url"] = await self._checked_url(command.url)
        if command.active is not UNSET:
            values["active"] = command.active
            values["disabled_reason"] = None if command.active else "disabled by its owner"
        async with self._database.transaction() as uow:
            webhook = await uow.webhooks.get_owned(webhook_id, caller.user_id, for_update=True)
            if webhook is None:
                raise _not_found(webhook_id)
            if command.api_version is not UNSET:
                forward_only(webhook.api_version, command.api_version)
                values["api_version"] = command.api_version
            if not values:
                return webhook
            return await uow.webhooks.update(webhook_id, values)

    async def delete(self, principal: Principal | None, webhook_id: int) -> None:
        caller = signed_in(principal, scope=WEBHOOKS_WRITE)
        async with self._database.transaction() as uow:
            if await uow.webhooks.get_owned(webhook_id, caller.user_id, for_update=True) is None:
                raise _not_found(webhook_id)
            await uow.webhooks.delete(webhook_id)

    async def rotate_secret(
        self, principal: Principal | None, webhook_id: int
    ) -> WebhookWithSecret:
        """A new secret, shown once; the old one still signs too for the next 24 hours."""
        caller = signed_in(principal, scope=WEBHOOKS_WRITE)
        secret = new_secret()
        async with self._database.transaction() as uow:
            if await uow.webhooks.get_owned(webhook_id, caller.user_id, for_update=True) is None:
                raise _not_found(webhook_id)
            webhook = await uow.webhooks.rotate_secret(
                webhook_id,
                secret=self._policy.seal.seal(secret),
                keep_previous_seconds=ROTATION_OVERLAP_SECONDS,
            )
        return WebhookWithSecret(webhook, secret)

    async def deliveries(
        self, principal: Principal | None, webhook_id: int, *, after: int | None, limit: int
    ) -> DeliverySlice:
        """The endpoint's deliveries, newest first, each with every attempt made."""
        caller = signed_in(principal, scope=WEBHOOKS_READ)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationFailed.one(
                ("limit",), f"must be between 1 and {MAX_PAGE_SIZE}", "range"
            )
        async with self._database.reader() as uow:
            if await uow.webhooks.get_owned(webhook_id, caller.user_id) is None:
                raise _not_found(webhook_id)
            rows = await uow.webhooks.deliveries(webhook_id, before=after, limit=limit + 1)
        return DeliverySlice(rows[:limit], len(rows) > limit)

    async def redeliver(
        self, principal: Principal | None, webhook_id: int, delivery_id: int
    ) -> DeliveryRecord:
        """Send a delivery's event again (same `webhook-id`), as a new delivery due now."""
        caller = signed_in(principal, scope=WEBHOOKS_WRITE)
        async with self._database.transaction() as uow:
            webhook = await uow.webhooks.get_owned(webhook_id, caller.user_id)
            if webhook is None:
                raise _not_found(webhook_id)
            if not webhook.active:
                raise Conflict("This webhook is disabled; enable it (PATCH active) first.")
            delivery = await uow.webhooks.redeliver(webhook_id, delivery_id)
        if delivery is None:
            raise NotFound(f"No delivery with id {delivery_id} for this webhook.")
        return delivery

    async def replay(
        self, principal: Principal | None, webhook_id: int, command: ReplayEvents
    ) -> Replayed:
        """Queue again, for this endpoint, every event since `since` it hears (bounded).

        Each keeps its event id as its `webhook-id`, so a receiver skips what it has. At
        most REPLAY_MAX_EVENTS, oldest first; `next_since` says where to go on from.
        """
        caller = signed_in(principal, scope=WEBHOOKS_WRITE)
        types = None if command.types is None else clean_events(command.types)
        if command.until is not None and command.until <= command.since:
            raise ValidationFailed.one(("until",), "must be later than since", "value_error")
        async with self._database.transaction() as uow:
            webhook = await uow.webhooks.get_owned(webhook_id, caller.user_id)
            if webhook is None:
                raise _not_found(webhook_id)
            if not webhook.active:
                raise Conflict("This webhook is disabled; enable it (PATCH active) first.")
            return await uow.webhooks.replay(
                webhook_id,
                since=command.since,
                until=command.until,
                types=None if types is None or ALL_EVENTS in types else types,
                limit=REPLAY_MAX_EVENTS,
            )

    async def ping(self, principal: Principal | None, webhook_id: int) -> Pinged:
        """Send the endpoint a signed `ping` event now, and say what it answered."""
        caller = signed_in(principal, scope=WEBHOOKS_WRITE)
        async with self._database.reader() as uow:
            webhook = await uow.webhooks.get_owned(webhook_id, caller.user_id)
            if webhook is None:
                raise _not_found(webhook_id)
            target = await uow.webhooks.signing_target(webhook_id)
        ping_id = new_ping_id()
        body = ping_body(ping_id, webhook)
        headers = delivery_headers(
            self._policy.seal.open_all(target.secrets), msg_id=ping_id, body=body
        )
        outcome = await self._policy.sender.send(target.url, body=body, headers=headers)
        return Pinged(ping_id, outcome)
