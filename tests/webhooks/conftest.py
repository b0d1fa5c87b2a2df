"""Webhook fixtures: a real receiver, and a worker running in the test's process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tandem.config import Settings
from tests.webhooks.helpers import worker_running
from tests.webhooks.receiver import Receiver, running

QUICK = {
    "webhook_retry_schedule": "0.1,0.1,0.1",
    "worker_poll_seconds": 0.5,
    "webhook_timeout_seconds": 2.0,
    "webhook_lease_seconds": 5.0,
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running(Receiver()) as started:
        yield started


@pytest.fixture
def worker_settings(settings: Settings) -> Callable[..., Settings]:
    def make(**changes: Any) -> Settings:
        return settings.model_copy(update={**QUICK, **changes})

    return make


@pytest.fixture
async def worker(worker_settings: Callable[..., Settings]) -> AsyncIterator[None]:
    async with worker_running(worker_settings()):
        yield
