"""Counter stores for rate limits: in-process, or Redis so every process shares one budget."""

from __future__ import annotations

import time
from typing import Any

from tandem.domain.rate_limits import Hit, window

# Check and add in one step, so concurrent processes can never overspend a budget.
_HIT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if used + amount > tonumber(ARGV[2]) then
  return {used, 0}
end
used = redis.call('INCRBY', KEYS[1], amount)
redis.call('EXPIREAT', KEYS[1], tonumber(ARGV[3]) + 1)
return {used, 1}
"""


class MemoryCounters:
    """Counters in this process only: right for one worker, and for tests."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window end, used)

    async def hit(self, key: str, amount: int, *, limit: int, window_seconds: int) -> Hit:
        now = time.time()
        _, end = window(now, window_seconds)
        stored_end, used = self._counts.get(key, (end, 0))
        if stored_end != end:
            used = 0
        if used + amount > limit:
            return Hit(used=used, accepted=False, reset_at=end)
        if len(self._counts) >= self.MAX_KEYS:
            self._forget_expired(now)
        self._counts[key] = (end, used + amount)
        return Hit(used=used + amount, accepted=True, reset_at=end)

    async def reset(self, key: str, *, window_seconds: int) -> None:
        self._counts.pop(key, None)

    def clear(self) -> None:
        """Forget every counter (tests start each case with full budgets)."""
        self._counts.clear()

    def _forget_expired(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] > now}


class RedisCounters:
    """Counters in Redis: every worker and every host share one budget per subject."""

    def __init__(self, url: str, *, prefix: str = "tandem:") -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url)
        self._script = self._redis.register_script(_HIT)
        self._prefix = prefix

    async def hit(self, key: str, amount: int, *, limit: int, window_seconds: int) -> Hit:
        start, end = window(time.time(), window_seconds)
        used, accepted = await self._script(
            keys=[f"{self._prefix}{key}:{start}"], args=[amount, limit, end]
        )
        return Hit(used=int(used), accepted=bool(accepted), reset_at=end)

    async def reset(self, key: str, *, window_seconds: int) -> None:
        start, _ = window(time.time(), window_seconds)
        await self._redis.delete(f"{self._prefix}{key}:{start}")

    async def close(self) -> None:
        await self._redis.aclose()
