"""Login throttling: too many failures for one account, or from one address, answer 429.

Checked before the password is, and worded the same whether or not the
account exists, so the throttle reveals nothing about who has an account.
Password recovery uses the same counters under its own prefix, where every
request counts (tandem/domain/auth/recovery.py).
"""

from __future__ import annotations

import math
import time
from typing import Any

from tandem.domain.rate_limits import CounterStore, RateLimited
from tandem.observability import metrics

TOO_MANY = "Too many failed sign-ins; wait before trying again."
NO_LIMIT = 2**62  # a refund (a negative hit) is never refused


class LoginThrottle:
    def __init__(
        self,
        store: CounterStore,
        *,
        per_account: int,
        per_address: int,
        window_seconds: int,
        prefix: str = "login",
        message: str = TOO_MANY,
        refusals: Any = metrics.LOGIN_THROTTLE_REFUSALS,  # a Counter labelled by scope
    ) -> None:
        self._store = store
        self._limits = {"account": per_account, "address": per_address}
        self._window = window_seconds
        self._prefix = prefix
        self._message = message
        self._refusals = refusals

    def _keys(self, email: str, address: str | None) -> dict[str, str]:
        keys = {"account": f"{self._prefix}:account:{email.strip().lower()}"}
        if address:
            keys["address"] = f"{self._prefix}:address:{address}"
        return keys

    async def attempt(self, email: str, address: str | None) -> None:
        """Count an attempt as a failure before the password is checked; RATE_LIMITED if full.

        Counting first, in one atomic step per counter, is what stops a burst of concurrent
        guesses: were the count only raised after a failure, every guess in flight would pass
        the check before the first failure was recorded.
        """
        counted: list[str] = []
        for kind, key in self._keys(email, address).items():
            hit = await self._store.hit(
                key, 1, limit=self._limits[kind], window_seconds=self._window
            )
            if not hit.accepted:
                for done in counted:  # refused here: the attempt counts nowhere
                    await self._refund(done)
                self._refusals.labels(kind).inc()
                raise RateLimited(self._message, retry_after=math.ceil(hit.reset_at - time.time()))
            counted.append(key)

    async def succeeded(self, email: str, address: str | None) -> None:
        """A correct password clears the account's count and takes back the address's one."""
        keys = self._keys(email, address)
        await self._store.reset(keys["account"], window_seconds=self._window)
        if "address" in keys:
            await self._refund(keys["address"])

    async def _refund(self, key: str) -> None:
        await self._store.hit(key, -1, limit=NO_LIMIT, window_seconds=self._window)
