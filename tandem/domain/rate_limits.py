"""Budgets of points per fixed window: the rate limit of both faces and the login throttle.

A REST call costs 1 point; a GraphQL operation its computed cost (GitHub's
method), a mutation at least 5; a search 10 more, on either face, for each
field that searches. The counters live in a store that is
in-process by default and shared (Redis) when several processes serve.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from tandem.domain.errors import DomainError
from tandem.observability import metrics

REST_CALL_COST = 1
MUTATION_MIN_COST = 5
# A search (`q`) reads and ranks text: measured, its worst case costs hundreds of times a
# plain page's time (docs/performance.md), so each search adds these points to the call.
SEARCH_COST = 10


@dataclass(frozen=True, slots=True)
class Hit:
    """A counter after an attempt to add to it: `accepted` False means it was left as it was."""

    used: int
    accepted: bool
    reset_at: float


class CounterStore(Protocol):
    async def hit(self, key: str, amount: int, *, limit: int, window_seconds: int) -> Hit:
        """Add `amount` to `key`'s counter in the current window, unless that passes `limit`."""
        ...

    async def reset(self, key: str, *, window_seconds: int) -> None: ...


def window(now: float, seconds: int) -> tuple[int, int]:
    """The current fixed window's start and end (epoch seconds), the same in every process."""
    start = int(now // seconds) * seconds
    return start, start + seconds


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    used: int
    reset_at: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class RateLimited(DomainError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int, quota: Quota | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.quota = quota


def operation_cost(requests: int, *, mutation: bool, searches: int = 0) -> int:
    """GitHub's score: the requests an operation may need, over 100, at least 1 (5 to write);
    and SEARCH_COST more for each field that searches."""
    cost = max(1, round(requests / 100))
    cost = max(cost, MUTATION_MIN_COST) if mutation else cost
    return cost + searches * SEARCH_COST


class RateLimiter:
    def __init__(self, store: CounterStore, *, points: int, window_seconds: int) -> None:
        self._store = store
        self.points = points
        self.window_seconds = window_seconds

    async def charge(self, subject: str, cost: int, *, record_refusal: bool = True) -> Quota:
        """Spend `cost` points of `subject`'s budget; RATE_LIMITED, spending nothing, if short.

        `record_refusal=False` leaves a refusal uncounted, for a caller that then hands the
        request to the path that charges (and counts) it again.
        """
        hit = await self._store.hit(
            f"rate:{subject}", cost, limit=self.points, window_seconds=self.window_seconds
        )
        quota = Quota(limit=self.points, used=hit.used, reset_at=math.ceil(hit.reset_at))
        if not hit.accepted:
            if record_refusal:
                metrics.RATE_LIMIT_REFUSALS.inc()
            raise RateLimited(
                f"The rate limit of {self.points} points per {self.window_seconds} s is spent"
                f" (this request costs {cost}); it resets at {quota.reset_at}.",
                retry_after=math.ceil(hit.reset_at - time.time()),
                quota=quota,
            )
        return quota

    async def refund(self, subject: str, points: int) -> Quota:
        """Give back points charged for work that was then refused."""
        hit = await self._store.hit(
            f"rate:{subject}", -points, limit=self.points, window_seconds=self.window_seconds
        )
        return Quota(limit=self.points, used=max(0, hit.used), reset_at=math.ceil(hit.reset_at))


def subject_of(user_id: int | None, address: str | None) -> str:
    """Whose budget: the principal's, or the address's when anonymous."""
    return f"user:{user_id}" if user_id is not None else f"addr:{address or 'unknown'}"
