"""Helpers for webhook tests: run a worker in this process, register an endpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tandem.config import Settings
from tandem.worker.process import worker_for


@contextlib.asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[None]:
    assert settings.database_url is not None
    async with worker_for(settings, settings.database_url) as worker:
        task = asyncio.create_task(worker.run())
        await asyncio.wait_for(worker.listener.connected.wait(), timeout=10)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def register(
    client: Any, account: Any, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": events or ["*"]}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
