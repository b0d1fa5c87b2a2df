"""Helpers for mail tests: register over REST, read the outbox, pull a token from a mail."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from tandem.domain.services import Services
from tests.factories import PASSWORD

RESET_LINK = re.compile(r"(https?://[^\s\"<>]+/reset-password\?token=([A-Za-z0-9_\-]+))")


async def register(client: httpx.AsyncClient, email: str, name: str = "Ada Lovelace") -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "name": name, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text


async def outbox(services: Services) -> list[dict[str, Any]]:
    async with services.database.reader() as uow:
        rows = await uow.connection.raw.fetch(
            "SELECT id, kind, recipient, params::text AS params, status, attempts, last_error"
            " FROM mail_outbox ORDER BY id"
        )
    return [dict(row) for row in rows]


async def settled(services: Services, count: int, within: float = 20.0) -> list[dict[str, Any]]:
    """Wait until `count` mails are no longer pending."""
    async with asyncio.timeout(within):
        while True:
            rows = await outbox(services)
            if sum(row["status"] != "pending" for row in rows) >= count:
                return rows
            await asyncio.sleep(0.05)


def reset_token(text: str) -> tuple[str, str]:
    """The reset link and its token, from a mail's text."""
    found = RESET_LINK.search(text)
    assert found is not None, text
    return found.group(1), found.group(2)
