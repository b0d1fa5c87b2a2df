"""Mail fixtures: a real SMTP server on loopback, and a worker in this process sending to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tandem.config import Settings
from tests.mail.smtp import SmtpServer
from tests.webhooks.helpers import worker_running

PUBLIC_URL = "https://tandem.example.test"
QUICK = {
    "worker_poll_seconds": 0.5,
    "mail_retry_schedule": "0.2,0.2,0.2,0.2,0.2",
    "smtp_timeout_seconds": 2.0,
    "mail_lease_seconds": 5.0,
    "webhook_timeout_seconds": 2.0,
    "webhook_lease_seconds": 5.0,
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings: Settings) -> Callable[..., Settings]:
    """The suite's settings, sending through SMTP on `port` (or, with port=None, to files)."""

    def make(port: int | None, **changes: Any) -> Settings:
        smtp = (
            {"smtp_host": None}
            if port is None
            else {
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_tls": "none",
                "mail_from": "Tandem <no-reply@tandem.example.test>",
            }
        )
        return settings.model_copy(update={**QUICK, "public_url": PUBLIC_URL, **smtp, **changes})

    return make


@pytest.fixture
async def mail_worker(
    smtp: SmtpServer, mail_settings: Callable[..., Settings]
) -> AsyncIterator[SmtpServer]:
    """A worker sending to `smtp`; yields the server."""
    async with worker_running(mail_settings(smtp.port)):
        yield smtp


@contextlib.asynccontextmanager
async def workers(*all_settings: Settings) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for one in all_settings:
            await stack.enter_async_context(worker_running(one))
        yield
