"""Login throttling: too many failures for one account, or from one address, answer 429.

Checked before the password is, and worded the same whether or not the
account exists, so the throttle reveals nothing about who has an account.
"""

from __future__ import annotations

import math
import time

from tandem.domain.rate_limits import CounterStore, RateLimited

TOO_MANY = "Too many failed sign-ins; wait before trying again."


class LoginThrottle:
    def __init__(
        self,
        store: CounterStore,
        *,
        per_account: int,
        per_address: int,
        window_seconds: int,
    ) -> None:
        self._store = store
        self._limits = {"account": per_account, "address": per_address}
        self._window = window_seconds

    def _keys(self, email: str, address: str | None) -> dict[str, str]:
        keys = {"account": f"login:account:{email.strip().lower()}"}
        if address:
            keys["address"] = f"login:address:{address}"
        return keys

    async def check(self, email: str, address: str | None) -> None:
        """RATE_LIMITED when either counter has reached its limit (looking costs nothing)."""
        for kind, key in self._keys(email, address).items():
            hit = await self._store.hit(
                key, 0, limit=self._limits[kind] - 1, window_seconds=self._window
            )
            if not hit.accepted:
                raise RateLimited(TOO_MANY, retry_after=math.ceil(hit.reset_at - time.time()))

    async def failed(self, email: str, address: str | None) -> None:
        for kind, key in self._keys(email, address).items():
            await self._store.hit(key, 1, limit=self._limits[kind] * 2, window_seconds=self._window)

    async def succeeded(self, email: str) -> None:
        """A correct password clears the account's count (not the address's)."""
        await self._store.reset(self._keys(email, None)["account"], window_seconds=self._window)
