"""Subscriptions' use case: a caller's stream of item events, as long as its token holds.

With `after` (an event id, the cursor GET /events takes), the stream first replays
what the caller may see after it, from the outbox, then joins the live fan-out: it
registers only once the replay has caught up, reads once more what committed while
it joined, and then skips every live event at or before the last one it sent, so
the seam has no gap and no duplicate (both are in `Position` order).

The token is checked as the guard checks it when the subscription starts, then
again as soon as the fan-out says its access changed (a revocation, a deactivated
account or a changed role, announced on commit to every process: see
tandem/persistence/realtime/feed.py), and every `recheck_seconds` as the fallback;
the stream ends at the token's expiry. An expired or revoked token ends the
subscription with UNAUTHENTICATED; an admin's demotion ends it with FORBIDDEN (it
was showing drafts the caller may no longer see). Each event is offered with the
subscriber's own visibility at that moment (`fanout.may_see`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

from tandem.domain.auth.service import AuthService
from tandem.domain.auth.tokens import AccessTokenCodec
from tandem.domain.errors import DomainError, Forbidden, Unauthenticated, Unavailable
from tandem.domain.events.records import EventRecord, Position
from tandem.domain.events.service import position_after
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.principal import ITEMS_READ, Principal, Viewer, signed_in
from tandem.domain.realtime.changes import ItemChange, change_of, owner_ids, prepare
from tandem.domain.realtime.fanout import Fanout, Subscriber


class SubscriberTooSlow(DomainError):
    code = "SUBSCRIBER_TOO_SLOW"


class EventsMissed(DomainError):
    code = "EVENTS_MISSED"


REPLAY_PAGE = 500


class SubscriptionService:
    def __init__(
        self,
        *,
        fanout: Fanout,
        auth: AuthService,
        codec: AccessTokenCodec,
        recheck_seconds: float,
        database: ScopedStore,
    ) -> None:
        self.fanout = fanout
        self._auth = auth
        self._codec = codec
        self._recheck = recheck_seconds
        self._database = database

    async def item_changes(
        self,
        principal: Principal | None,
        *,
        token: str | None,
        owner_id: int | None,
        after: str | None = None,
    ) -> AsyncIterator[ItemChange]:
        """Item events the caller may see, as they commit, until the token stops holding;
        with `after`, those committed after that event first."""
        caller = signed_in(principal, scope=ITEMS_READ)
        if token is None:
            raise Unauthenticated("Sign in to do this: send 'Authorization: Bearer <token>'.")
        expires = self._codec.decode(token).expires_at.timestamp()
        sent: Position | None = None  # the last event replayed: live ones up to it are skipped
        if after is not None:
            async with self._database.reader() as uow:
                sent = await position_after(uow.events, after, caller)
            async for event in self._replay(caller.viewer, owner_id, sent):
                _raise_if_expired(expires)
                sent = event.position
                yield change_of(event)
        subscriber = self.fanout.add(
            caller.viewer, owner_id=owner_id, token_id=str(caller.token_id)
        )
        try:
            if sent is not None:  # what committed while the replay joined the live stream
                async for event in self._replay(caller.viewer, owner_id, sent):
                    _raise_if_expired(expires)
                    sent = event.position
                    yield change_of(event)
            # Spread over the interval, so subscriptions opened together do not ask together.
            checked = time.monotonic() - random.uniform(0, self._recheck / 2)  # noqa: S311
            while True:
                now = time.time()
                if now >= expires:
                    raise Unauthenticated("The access token has expired.")
                if subscriber.recheck_due or time.monotonic() - checked >= self._recheck:
                    subscriber.recheck_due = False
                    checked = time.monotonic()
                    try:
                        now_caller = await self._auth.authenticate(token)  # revoked: InvalidToken
                    except Unavailable:
                        continue  # the database is busy or away: the token is asked again later
                    now_caller.require_scope(ITEMS_READ)
                    if caller.viewer.is_admin and not now_caller.viewer.is_admin:
                        raise Forbidden(
                            "Your role changed: this subscription showed what only admins see. "
                            "Subscribe again (with `after`) to go on with what you may see."
                        )
                    caller = now_caller
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
                    _raise_if_expired(expires)
                    if sent is not None and event.position <= sent:
                        continue  # replayed already
                    yield change_of(event)
                _raise_if_ended(subscriber)
        finally:
            self.fanout.remove(subscriber)

    async def _replay(
        self, viewer: Viewer, owner_id: int | None, after: Position
    ) -> AsyncIterator[EventRecord]:
        """The events after `after` the viewer may see, to the end of the outbox so far."""
        while True:
            async with self._database.reader() as uow:
                page = await uow.events.visible_page(
                    viewer, after=after, types=None, limit=REPLAY_PAGE
                )
                shown = [e for e in page if owner_id is None or e.owner_id == owner_id]
                ids = owner_ids(shown)
                owners = await uow.users.get_many(ids) if ids else []  # one statement a page
            prepare(shown, {owner.id: owner for owner in owners})
            for event in shown:
                yield event
            if page:
                after = page[-1].position
            if len(page) < REPLAY_PAGE:
                return


def _raise_if_expired(expires: float) -> None:
    if time.time() >= expires:
        raise Unauthenticated("The access token has expired.")


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
