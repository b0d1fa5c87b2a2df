"""Subscriptions' use case: a caller's stream of item events, as long as its token holds.

The token is checked as the guard checks it when the subscription starts, then
again every `recheck_seconds` (revocation, a deactivated account, a changed
role), and the stream ends at the token's expiry: an expired or revoked token
ends the subscription with UNAUTHENTICATED. Each event is offered with the
subscriber's own visibility at that moment (`fanout.may_see`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tandem.domain.auth.service import AuthService
from tandem.domain.auth.tokens import AccessTokenCodec
from tandem.domain.errors import DomainError, Unauthenticated, Unavailable
from tandem.domain.events.records import EventRecord, EventType
from tandem.domain.items.records import DOCUMENT, ItemRecord
from tandem.domain.principal import ITEMS_READ, Principal, signed_in
from tandem.domain.realtime.fanout import Fanout, Subscriber


class SubscriberTooSlow(DomainError):
    code = "SUBSCRIBER_TOO_SLOW"


class EventsMissed(DomainError):
    code = "EVENTS_MISSED"


@dataclass(frozen=True, slots=True, weakref_slot=True, eq=False)  # shared: by identity
class ItemChange:
    """One event as subscribers see it (one object per event, shared by all of them);
    `item` is None for a deletion."""

    type: EventType
    item_id: int
    item: ItemRecord | None


def change_of(event: EventRecord) -> ItemChange:
    """The event as subscribers see it, built once per event (the fan-out shares it)."""
    change = _changes.get(event.id)
    if change is None:
        item = None if event.type is EventType.ITEM_DELETED else DOCUMENT.decode(event.data["item"])
        change = ItemChange(type=event.type, item_id=event.item_id, item=item)
        _changes[event.id] = change
        if len(_changes) > _CHANGES_KEPT:
            del _changes[next(iter(_changes))]
    return change


# The latest events' changes, so every subscriber of a process shares one object per event.
_CHANGES_KEPT = 4096
_changes: dict[str, ItemChange] = {}


class SubscriptionService:
    def __init__(
        self,
        *,
        fanout: Fanout,
        auth: AuthService,
        codec: AccessTokenCodec,
        recheck_seconds: float,
    ) -> None:
        self.fanout = fanout
        self._auth = auth
        self._codec = codec
        self._recheck = recheck_seconds

    async def item_changes(
        self, principal: Principal | None, *, token: str | None, owner_id: int | None
    ) -> AsyncIterator[ItemChange]:
        """Item events the caller may see, as they commit, until the token stops holding."""
        caller = signed_in(principal, scope=ITEMS_READ)
        if token is None:
            raise Unauthenticated("Sign in to do this: send 'Authorization: Bearer <token>'.")
        expires = self._codec.decode(token).expires_at.timestamp()
        subscriber = self.fanout.add(caller.viewer, owner_id=owner_id)
        try:
            # Spread over the interval, so subscriptions opened together do not ask together.
            checked = time.monotonic() - random.uniform(0, self._recheck / 2)  # noqa: S311
            while True:
                now = time.time()
                if now >= expires:
                    raise Unauthenticated("The access token has expired.")
                if time.monotonic() - checked >= self._recheck:
                    checked = time.monotonic()
                    try:
                        caller = await self._auth.authenticate(token)  # revoked: InvalidToken
                    except Unavailable:
                        continue  # the database is busy or away: the token is asked again later
                    caller.require_scope(ITEMS_READ)
                    subscriber.viewer = caller.viewer
                wake_in = min(expires - now, self._recheck - (time.monotonic() - checked))
                try:
                    async with asyncio.timeout(max(wake_in, 0.0)):
                        await subscriber.wait()
                except TimeoutError:
                    continue
                _raise_if_ended(subscriber)
                for event in subscriber.take():
                    _raise_if_ended(subscriber)
                    if time.time() >= expires:
                        raise Unauthenticated("The access token has expired.")
                    yield change_of(event)
                _raise_if_ended(subscriber)
        finally:
            self.fanout.remove(subscriber)


def _raise_if_ended(subscriber: Subscriber) -> None:
    if subscriber.ended == "slow":
        raise SubscriberTooSlow(
            f"This subscription fell more than {subscriber.backlog} events behind and was "
            "closed; subscribe again, and read what you missed with a query or GET /events."
        )
    if subscriber.ended == "gap":
        raise EventsMissed(
            "This server lost its event feed for longer than a subscription may lag; subscribe "
            "again, and read what you missed with a query or GET /events."
        )
