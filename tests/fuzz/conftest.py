"""Fixtures for the fuzzer: the app under fuzz, and a small world for it to wander in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tandem.app import create_app
from tandem.config import Settings
from tandem.domain.services import Services
from tests.factories import Account, make_account, make_item
from tests.fuzz.targets import target


@pytest.fixture(scope="session", autouse=True)
def fuzz_app(settings: Settings) -> Iterator[FastAPI]:
    """The app as `tandem serve` builds it, its lifespan opening a pool of its own.

    Schemathesis sends every request from an event loop of its own, and asyncpg connections
    belong to the loop that opened them, so the suite's pool cannot serve it. Schemathesis'
    pytest plugin starts the app's lifespan on a test's first request and ends it when the
    test ends: every fuzzed operation gets a fresh pool and fresh rate-limit budgets.
    No background worker: the fuzz is about the faces, and a worker's teardown on every
    test's lifespan end only adds time (deliveries and mail have their own tests).
    """
    app = create_app(settings.model_copy(update={"serve_worker": False}))
    target.app = app
    yield app
    target.app = None


@pytest.fixture
def spent_budgets(settings: Settings) -> Iterator[None]:
    """The app under fuzz, for one test, with a rate limit spent by its first call."""
    previous = target.app
    target.app = create_app(
        settings.model_copy(update={"rate_limit": "1/hour", "serve_worker": False})
    )
    yield
    target.app = previous


@dataclass
class World:
    """Three accounts (ids 1-3) and four items (ids 1-4), so small ids hit real rows."""

    admin: Account
    member: Account
    other: Account
    items: list[dict[str, Any]]

    @property
    def forged_headers(self) -> dict[str, str]:
        """The member's access token with its signature replaced: refused everywhere."""
        header_and_claims, _dot, signature = self.member.access_token.rpartition(".")
        return {"Authorization": f"Bearer {header_and_claims}.{'A' * len(signature)}"}


@pytest.fixture
async def world(services: Services, client: httpx.AsyncClient) -> World:
    admin = await make_account(services, client, role="admin")
    member = await make_account(services, client)
    other = await make_account(services, client)
    items = [
        await make_item(client, member, price="19.99", tags=["red", "small"]),
        await make_item(client, member, status="draft", description="A draft"),
        await make_item(client, other, tags=["blue"]),
        await make_item(client, other, status="draft"),
    ]
    return World(admin, member, other, items)
