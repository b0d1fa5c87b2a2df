"""An attacker's toolkit: forged tokens, apps built with other settings, both faces side by side."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.domain.auth.tokens import key_id
from tandem.domain.rate_limits import CounterStore, window
from tandem.domain.services import Services
from tandem.persistence.counters import MemoryCounters
from tandem.persistence.database import Database
from tests.factories import Account

ME = "/api/v1/users/me"
ME_QUERY = "{ me { id databaseId } }"
PROBLEM = "application/problem+json"
INVALID_TOKEN = 'Bearer error="invalid_token"'
RATE_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-used",
    "x-ratelimit-reset",
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Served:
    """One more instance of the app (a "worker"), over the suite's database."""

    client: httpx.AsyncClient
    services: Services
    settings: Settings


@asynccontextmanager
async def serving(
    settings: Settings,
    database: Database,
    *,
    counters: CounterStore | None = None,
    address: str = "127.0.0.1",
    **changes: Any,
) -> AsyncIterator[Served]:
    """An app built with `changes` to the settings and its own counters, and a client for it."""
    changed = settings.model_copy(update=changes)
    services = services_for(changed, database, counters=counters or MemoryCounters())
    app = create_app(changed, services=services)
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Served(client, services, changed)


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST one operation and hand back the raw response (status and headers matter here)."""
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def forge(
    settings: Settings,
    account: Account,
    *,
    key: str | None = None,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    drop: str | None = None,
    **claims: Any,
) -> str:
    """An access token built by hand, as valid as a real one unless an argument spoils it.

    The key id follows the key used (so a wrong key is refused for its signature, not its kid),
    unless `headers` says otherwise.
    """
    real = jwt.decode(account.access_token, options={"verify_signature": False})
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "sub": str(account.id),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": str(uuid.uuid4()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "scope": real["scope"],
        "sid": real["sid"],
        **claims,
    }
    if drop is not None:
        del payload[drop]
    signing_key = key if key is not None else settings.verification_keys()[0]
    header = {"typ": "at+jwt", "kid": key_id(signing_key), **(headers or {})}
    header = {name: value for name, value in header.items() if value is not None}
    return jwt.encode(payload, signing_key, algorithm=algorithm, headers=header)


async def assert_refused_on_both_faces(client: httpx.AsyncClient, token: str) -> None:
    """401 with `invalid_token` on REST (problem+json) and on GraphQL (UNAUTHENTICATED)."""
    rest = await client.get(ME, headers=bearer(token))
    assert rest.status_code == 401, rest.text
    assert rest.headers["content-type"] == PROBLEM
    assert rest.json()["code"] == "UNAUTHENTICATED"
    assert rest.headers["www-authenticate"] == INVALID_TOKEN

    response = await graphql(client, ME_QUERY, headers=bearer(token))
    assert response.status_code == 401, response.text
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert response.headers["www-authenticate"] == INVALID_TOKEN
    assert response.json().get("data") is None


async def assert_accepted_on_both_faces(
    client: httpx.AsyncClient, token: str, *, user_id: int
) -> None:
    """The control: the token signs `user_id` in on REST and on GraphQL."""
    rest = await client.get(ME, headers=bearer(token))
    assert rest.status_code == 200, rest.text
    assert rest.json()["id"] == user_id
    response = await graphql(client, ME_QUERY, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["databaseId"] == user_id


async def fresh_window(seconds: int, *, margin: float = 20.0) -> None:
    """Wait for the next fixed window if this one ends within `margin` seconds.

    A budget test spends a window's points and then expects a refusal; were the window to
    roll over halfway, the budget would refill and the test would fail for no fault.
    """
    _, end = window(time.time(), seconds)
    if end - time.time() < margin:
        await asyncio.sleep(end - time.time() + 0.05)


def without_request_id(response: httpx.Response) -> dict[str, Any]:
    """The body a client sees, less the one field that differs between any two requests."""
    body: dict[str, Any] = response.json()
    body.pop("request_id", None)
    return body
