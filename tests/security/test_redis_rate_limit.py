"""One budget across workers and hosts: the rate limit and the sign-in throttle in Redis.

Each test builds two instances of the app (two "workers"), each with its own Redis
client over the same Redis, under a key prefix of its own so runs never meet. Needs
TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0); skipped without it, so `make test`
needs no Redis.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tandem.app import counters_for
from tandem.persistence.counters import MemoryCounters, RedisCounters
from tests.factories import PASSWORD, login, make_user
from tests.security.helpers import RATE_HEADERS, codes, fresh_window, graphql, serving

HOURLY = 3600
CREATE = 'mutation { createItem(input: {title: "shared"}) { id } }'


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    return url


@pytest.fixture
async def redis_counters(redis_url: str) -> AsyncIterator[Callable[[], RedisCounters]]:
    """Makes Redis clients over one fresh key prefix; closes them and clears the prefix."""
    from redis.asyncio import Redis

    prefix = f"tandem-test-{uuid.uuid4().hex}:"
    made: list[RedisCounters] = []

    def make() -> RedisCounters:
        made.append(RedisCounters(redis_url, prefix=prefix))
        return made[-1]

    yield make
    for counters in made:
        await counters.close()
    cleaner = Redis.from_url(redis_url)
    try:
        keys = [key async for key in cleaner.scan_iter(match=f"{prefix}*")]
        if keys:
            await cleaner.delete(*keys)
    finally:
        await cleaner.aclose()


def used(response: httpx.Response) -> int:
    return int(response.headers["x-ratelimit-used"])


async def bearer_for(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {(await login(client, email))['access_token']}"}


async def test_two_workers_share_one_rest_budget(settings, services, redis_counters):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with (
        serving(settings, services.database, counters=redis_counters(), rate_limit="10/hour") as a,
        serving(settings, services.database, counters=redis_counters(), rate_limit="10/hour") as b,
    ):
        headers = await bearer_for(a.client, ada.email)
        answers = []
        for _ in range(5):
            answers.append(await a.client.get("/api/v1/users/me", headers=headers))
            answers.append(await b.client.get("/api/v1/users/me", headers=headers))
        refused = [
            await a.client.get("/api/v1/users/me", headers=headers),
            await b.client.get("/api/v1/users/me", headers=headers),
        ]
    assert [used(r) for r in answers] == list(range(1, 11))
    for response in refused:
        assert response.status_code == 429
        assert response.json()["code"] == "RATE_LIMITED"
        assert int(response.headers["retry-after"]) > 0
        assert used(response) == 10


async def test_two_workers_share_one_budget_across_both_faces(settings, services, redis_counters):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with (
        serving(settings, services.database, counters=redis_counters(), rate_limit="10/hour") as a,
        serving(settings, services.database, counters=redis_counters(), rate_limit="10/hour") as b,
    ):
        headers = await bearer_for(a.client, ada.email)
        first = await graphql(a.client, CREATE, headers=headers)  # 5 points, on worker A
        second = await graphql(b.client, CREATE, headers=headers)  # 5 more, on worker B
        query = await graphql(a.client, "{ me { id } }", headers=headers)
        rest = await b.client.get("/api/v1/users/me", headers=headers)
    assert [used(first), used(second)] == [5, 10]
    assert second.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    assert query.status_code == 429 and codes(query.json()) == ["RATE_LIMITED"]
    assert rest.status_code == 429 and rest.json()["code"] == "RATE_LIMITED"


async def test_concurrent_calls_on_two_workers_never_overspend(settings, services, redis_counters):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with (
        serving(settings, services.database, counters=redis_counters(), rate_limit="10/hour") as a,
        serving(settings, services.database, counters=redis_counters(), rate_limit="10/hour") as b,
    ):
        headers = await bearer_for(a.client, ada.email)
        answers = await asyncio.gather(
            *(worker.client.get("/api/v1/users/me", headers=headers) for worker in [a, b] * 15)
        )
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 10 and statuses.count(429) == 20
    assert sorted(used(r) for r in answers if r.status_code == 200) == list(range(1, 11))
    assert all(name in r.headers for r in answers for name in RATE_HEADERS)


async def test_two_workers_share_the_sign_in_throttle(settings, services, redis_counters):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    throttle = {"login_max_failures_per_account": 3, "login_failure_window_seconds": HOURLY}
    async with (
        serving(settings, services.database, counters=redis_counters(), **throttle) as a,
        serving(settings, services.database, counters=redis_counters(), **throttle) as b,
    ):
        failures = []
        for worker, guess in ((a, "one"), (b, "two"), (a, "three")):
            failures.append(
                await worker.client.post(
                    "/api/v1/auth/token",
                    data={"grant_type": "password", "username": ada.email, "password": guess},
                )
            )
        throttled = await b.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": ada.email, "password": PASSWORD},
        )
    assert [r.status_code for r in failures] == [400, 400, 400]
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0


async def test_without_redis_each_worker_counts_alone(settings, services):
    # Why REDIS_URL matters: in-process counters give every worker a budget of its own.
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with (
        serving(settings, services.database, counters=MemoryCounters(), rate_limit="3/hour") as a,
        serving(settings, services.database, counters=MemoryCounters(), rate_limit="3/hour") as b,
    ):
        headers = await bearer_for(a.client, ada.email)
        spent = [await a.client.get("/api/v1/users/me", headers=headers) for _ in range(4)]
        elsewhere = await b.client.get("/api/v1/users/me", headers=headers)
    assert [r.status_code for r in spent] == [200, 200, 200, 429]
    assert elsewhere.status_code == 200 and used(elsewhere) == 1


async def test_redis_url_selects_the_shared_store(settings, redis_url):
    assert isinstance(counters_for(settings), MemoryCounters)
    shared = counters_for(settings.model_copy(update={"redis_url": redis_url}))
    assert isinstance(shared, RedisCounters)
    await shared.close()
