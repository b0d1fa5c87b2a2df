"""Behind a load balancer: X-Forwarded-For counts only when it comes from TRUSTED_PROXIES.

Without it every anonymous caller shares the balancer's address, and so one rate-limit
budget; with it anyone could pick their own address by sending the header, unless only
the balancer's word is believed.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.ops.served import serve


async def statuses(url: str, address: str, times: int) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        headers = {"X-Forwarded-For": address}
        return [
            (await client.get("/api/v1/items", headers=headers)).status_code for _ in range(times)
        ]


@pytest.mark.parametrize("trusted", ["127.0.0.1", ""])
async def test_anonymous_rate_limits_follow_the_forwarded_address_only_from_a_trusted_proxy(
    database_url: str, tmp_path: Path, trusted: str
) -> None:
    served = serve(database_url, tmp_path, RATE_LIMIT="3/minute", TRUSTED_PROXIES=trusted)
    try:
        first = await statuses(served.url, "203.0.113.7", 4)
        second = await statuses(served.url, "198.51.100.9", 1)
    finally:
        served.stop()
    assert first[:3] == [401, 401, 401] and first[3] == 429, first
    # Trusted: another client behind the same proxy has its own budget. Not trusted: the
    # header is the caller's say-so, ignored, and both callers are 127.0.0.1.
    assert second == ([401] if trusted else [429]), second


def test_a_mistyped_trusted_proxy_stops_start_up_with_one_line(tmp_path: Path) -> None:
    from tandem.config import Settings

    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(trusted_proxies="10.0.0.0/8,10.0.0.300")  # type: ignore[arg-type]
