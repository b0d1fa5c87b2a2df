"""Throttles: how often one address, or one account, may try something.

Sign-in (`LoginThrottle`): failures count per address and per (account, address),
each answering 429 past its limit. Across addresses, failures at one account slow
every further attempt at it, by a delay that doubles, and never lock it: the
owner's right password from an address that has not failed still signs in, late
at worst. A lockout anyone could keep up is what the assessment found (issue 20).

Password recovery (`RequestThrottle`): every request counts, per account and per
address, and past either limit answers 429. The welcome mail (`AddressBudget`): so
many per client address, then registration goes on without one.

Both count an attempt before anything is checked, in one atomic step per counter,
and word a refusal the same whether or not the account exists. Emails arrive here
already normalised (`tandem.domain.users.rules.normalise_email`), as they are
stored and looked up, so one account has one key however its email is spelled.
"""

from __future__ import annotations

import math
import time
from asyncio import sleep
from collections.abc import Callable
from typing import Any

from tandem.domain.rate_limits import CounterStore, RateLimited
from tandem.observability import metrics

TOO_MANY = "Too many failed sign-ins; wait before trying again."
NO_LIMIT = 2**62  # a counter that only counts (and a refund) is never refused
FIRST_DELAY_SECONDS = 0.5  # the first slowed attempt waits this; each one after, twice more


class RequestThrottle:
    """Every request counts, per account and per address; past either limit, 429."""

    def __init__(
        self,
        store: CounterStore,
        *,
        per_account: int,
        per_address: int,
        window_seconds: int,
        prefix: str,
        message: str,
        refusals: Any,  # a Counter labelled by scope
    ) -> None:
        self._store = store
        self._limits = {"account": per_account, "address": per_address}
        self._window = window_seconds
        self._prefix = prefix
        self._message = message
        self._refusals = refusals

    async def attempt(self, email: str, address: str | None) -> None:
        """Count a request for `email` from `address`; RATE_LIMITED (counting nothing) if full."""
        keys = {"account": f"{self._prefix}:account:{email}"}
        if address:
            keys["address"] = f"{self._prefix}:address:{address}"
        await _count(self._store, keys, self._limits, self._window, self._refuse)

    def _refuse(self, kind: str, reset_at: float) -> RateLimited:
        self._refusals.labels(kind).inc()
        return RateLimited(self._message, retry_after=math.ceil(reset_at - time.time()))


class AddressBudget:
    """At most `per_address` of something per window from one client address (the welcome
    mail): `allows` counts one and says whether it fits. No address (the command line):
    always."""

    def __init__(
        self, store: CounterStore, *, per_address: int, window_seconds: int, prefix: str
    ) -> None:
        self._store = store
        self._limit = per_address
        self._window = window_seconds
        self._prefix = prefix

    async def allows(self, address: str | None) -> bool:
        if not address:
            return True
        key = f"{self._prefix}:address:{address}"
        hit = await self._store.hit(key, 1, limit=self._limit, window_seconds=self._window)
        return hit.accepted


class LoginThrottle:
    """Sign-in failures: 429 per address and per (account, address); a delay per account."""

    def __init__(
        self,
        store: CounterStore,
        *,
        per_account_address: int,
        per_address: int,
        window_seconds: int,
        max_delay_seconds: float,
        refusals: Any = metrics.LOGIN_THROTTLE_REFUSALS,  # a Counter labelled by scope
    ) -> None:
        self._store = store
        self._limits = {"account_address": per_account_address, "address": per_address}
        # Across addresses the account is slowed after as many failures as one address
        # may make: one guesser alone meets its 429 first, and never a delay.
        self._slow_after = per_account_address
        self._max_delay = max_delay_seconds
        self._window = window_seconds
        self._refusals = refusals

    def _keys(self, email: str, address: str | None) -> dict[str, str]:
        keys = {"account_address": f"login:pair:{address or ''}:{email}"}
        if address:
            keys["address"] = f"login:address:{address}"
        return keys

    def delay(self, failures: int) -> float:
        """How long an attempt waits when the account has had `failures` (this one included)."""
        over = failures - self._slow_after
        if over <= 0:
            return 0.0
        return float(min(self._max_delay, FIRST_DELAY_SECONDS * 2.0 ** min(over - 1, 32)))

    async def attempt(self, email: str, address: str | None) -> None:
        """Count an attempt as a failure before the password is checked; RATE_LIMITED if this
        address is over its limit (or over its limit for this account); else wait the
        account's delay.

        Counting first, in one atomic step per counter, is what stops a burst of concurrent
        guesses: were the count only raised after a failure, every guess in flight would pass
        the check before the first failure was recorded. Concurrent guesses from many
        addresses each count, so each waits longer than the one before.
        """
        keys = self._keys(email, address)
        await _count(self._store, keys, self._limits, self._window, self._refuse)
        across = await self._store.hit(
            f"login:account:{email}", 1, limit=NO_LIMIT, window_seconds=self._window
        )
        wait = self.delay(across.used)
        if wait > 0:
            metrics.LOGIN_THROTTLE_DELAYS.inc()
            await sleep(wait)

    async def succeeded(self, email: str, address: str | None) -> None:
        """A correct password clears this address's count for the account and takes back the
        attempt's other counts: a success is no failure."""
        keys = self._keys(email, address)
        await self._store.reset(keys["account_address"], window_seconds=self._window)
        if "address" in keys:
            await _refund(self._store, keys["address"], self._window)
        await _refund(self._store, f"login:account:{email}", self._window)

    def _refuse(self, kind: str, reset_at: float) -> RateLimited:
        self._refusals.labels(kind).inc()
        return RateLimited(TOO_MANY, retry_after=math.ceil(reset_at - time.time()))


async def _count(
    store: CounterStore,
    keys: dict[str, str],
    limits: dict[str, int],
    window: int,
    refuse: Callable[[str, float], RateLimited],
) -> None:
    """One hit on each counter; at the first one full, take the others back and refuse."""
    counted: list[str] = []
    for kind, key in keys.items():
        hit = await store.hit(key, 1, limit=limits[kind], window_seconds=window)
        if not hit.accepted:
            for done in counted:  # refused here: the attempt counts nowhere
                await _refund(store, done, window)
            raise refuse(kind, hit.reset_at)
        counted.append(key)


async def _refund(store: CounterStore, key: str, window: int) -> None:
    await store.hit(key, -1, limit=NO_LIMIT, window_seconds=window)
