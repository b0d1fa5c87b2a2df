"""One process's subscribers, and the fan-out of each committed event to those who may see it.

The outbox feed (tandem/persistence/realtime) reads each event once per process and
calls `Fanout.publish`; publishing only appends to each subscriber's own bounded
queue, so it never waits on a client. A subscriber whose queue already holds
`backlog` events is cut off (its queue dropped, an error waiting for it): a slow
client never grows the server's memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from tandem.domain.events.records import EventRecord
from tandem.domain.principal import Viewer
from tandem.observability import metrics

DEFAULT_BACKLOG = 1_000


def may_see(viewer: Viewer, event: EventRecord) -> bool:
    """The item rule, applied to the item as the event shows it: a draft to its owner and admins."""
    return not event.draft or viewer.is_admin or event.owner_id == viewer.user_id


class Subscriber:
    """One subscription's queue: what it has yet to send, at most `backlog` events."""

    __slots__ = (
        "_queue",
        "_ready",
        "backlog",
        "ended",
        "owner_id",
        "recheck_due",
        "token_id",
        "viewer",
        "waiting",
    )

    def __init__(
        self, viewer: Viewer, *, owner_id: int | None, backlog: int, token_id: str | None = None
    ) -> None:
        self.viewer = viewer
        self.owner_id = owner_id
        self.backlog = backlog
        self.token_id = token_id  # the access token's jti: a revocation names it
        self.recheck_due = False  # its access changed somewhere: check the token now
        self._queue: deque[EventRecord] = deque()
        self._ready = asyncio.Event()
        self.ended: str | None = None  # why the fan-out ended it: "slow" or "gap"
        self.waiting = False  # its stream is back for more: all it took has been sent

    def wants(self, event: EventRecord) -> bool:
        if self.owner_id is not None and event.owner_id != self.owner_id:
            return False
        return may_see(self.viewer, event)

    def offer(self, event: EventRecord) -> bool:
        """Queue the event; False (and the queue dropped) when the subscriber is too far behind."""
        if self.ended is not None:
            return True
        if len(self._queue) >= self.backlog:
            self.end("slow")
            return False
        self._queue.append(event)
        self._ready.set()
        return True

    def end(self, reason: str) -> None:
        self.ended = reason
        self._queue.clear()
        self._ready.set()

    def recheck_now(self) -> None:
        self.recheck_due = True
        self._ready.set()

    def take(self) -> list[EventRecord]:
        """Everything queued, oldest first (empty once ended)."""
        taken = list(self._queue)
        self._queue.clear()
        self._ready.clear()
        return taken

    async def wait(self) -> None:
        self.waiting = True
        try:
            await self._ready.wait()
        finally:
            self.waiting = False

    @property
    def pending(self) -> int:
        return len(self._queue)


class Fanout:
    def __init__(self, *, backlog: int = DEFAULT_BACKLOG) -> None:
        self.backlog = backlog
        self._subscribers: set[Subscriber] = set()

    def add(
        self, viewer: Viewer, *, owner_id: int | None, token_id: str | None = None
    ) -> Subscriber:
        subscriber = Subscriber(viewer, owner_id=owner_id, backlog=self.backlog, token_id=token_id)
        self._subscribers.add(subscriber)
        metrics.LIVE_SUBSCRIPTIONS.inc()
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
            metrics.LIVE_SUBSCRIPTIONS.dec()

    def __len__(self) -> int:
        return len(self._subscribers)

    def publish(self, events: Iterable[EventRecord]) -> None:
        """Hand each event to every subscriber that wants it and may see it."""
        delivered = slow = 0
        for event in events:
            for subscriber in self._subscribers:
                if subscriber.ended is None and subscriber.wants(event):
                    if subscriber.offer(event):
                        delivered += 1
                    else:
                        slow += 1
        if delivered:
            metrics.SUBSCRIPTION_EVENTS.inc(delivered)
        if slow:
            metrics.SLOW_SUBSCRIBER_DISCONNECTS.inc(slow)

    def recheck(self, *, user_id: int | None = None, token_id: str | None = None) -> None:
        """Have the subscriptions of this account, or of this token, check it again now."""
        for subscriber in self._subscribers:
            if subscriber.viewer.user_id == user_id or (
                token_id is not None and subscriber.token_id == token_id
            ):
                subscriber.recheck_now()

    async def flushed(self) -> None:
        """Return once every subscriber has sent all that was offered to it (on closing)."""
        while any(  # noqa: ASYNC110 (a few rounds, once, while the process closes)
            s.ended is None and (s.pending or not s.waiting) for s in self._subscribers
        ):
            await asyncio.sleep(0.01)

    def end_all(self, reason: str) -> None:
        """End every subscription (the feed lost more events than a subscriber may lag)."""
        for subscriber in self._subscribers:
            subscriber.end(reason)
