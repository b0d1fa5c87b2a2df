"""When a failed delivery is tried again, and when Tandem gives up.

The default: quick retries after 1 s, 5 s and 30 s (a brief blip costs seconds),
then a minute, doubling up to an hour, then hourly, until at least 24 hours have
passed. Waits from a minute on are shortened by up to 10% at random (jitter, so
endpoints that failed together do not all return together); the schedule is
long enough that even the shortest draw spans 24 hours. After the last retry
fails, the endpoint is disabled. `WEBHOOK_RETRY_SCHEDULE` replaces the whole
list (no jitter), e.g. `1s,5s,30s,5m` or `0.2,0.2`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

DAY = 86_400.0
QUICK = (1.0, 5.0, 30.0)
JITTER = 0.1
_UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def default_delays() -> tuple[float, ...]:
    delays = list(QUICK)
    wait = 60.0
    while sum(delays) * (1 - JITTER) < DAY:
        delays.append(wait)
        wait = min(wait * 2, 3600.0)
    return tuple(delays)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    delays: tuple[float, ...]
    jitter: float = 0.0

    @classmethod
    def default(cls) -> RetrySchedule:
        return cls(default_delays(), JITTER)

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, attempts: int) -> float | None:
        """Seconds to wait after `attempts` failed attempts; None means give up."""
        if attempts > len(self.delays):
            return None
        delay = self.delays[attempts - 1]
        if self.jitter and delay >= 60:
            delay *= 1 - self.jitter * random.random()  # noqa: S311 (spreading load, not secrecy)
        return delay


def parse_schedule(text: str) -> RetrySchedule:
    """`1s,5s,30s,1m`: each wait with an optional unit (ms, s, m, h); ValueError otherwise."""
    delays = []
    for part in text.split(","):
        match = _STEP.match(part)
        if match is None:
            raise ValueError("must be a comma-separated list of waits such as 1s,5s,30s,1m")
        delays.append(float(match.group(1)) * _UNITS[match.group(2) or ""])
    return RetrySchedule(tuple(delays))
