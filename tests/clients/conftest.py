"""Fixtures for tests that drive a real served Tandem with third-party clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.browser import Watch, chromium_path, loopback_browser
from tests.clients.served import served_tandem


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of `tandem serve` on this run's database, in development."""
    cwd: Path = tmp_path_factory.mktemp("served")
    with served_tandem(database_url=database_url, cwd=cwd) as base_url:
        yield base_url


@pytest.fixture(scope="module")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, Watch]]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium is installed (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.async_api", reason="playwright is not installed (make test)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    async with loopback_browser(executable, profile) as opened:
        yield opened


@pytest.fixture
def watch(browser: tuple[Any, Watch]) -> Iterator[Watch]:
    """The page's problems, from this test only; the test ends by asserting there are none."""
    _, watched = browser
    watched.errors.clear()
    watched.outside.clear()
    yield watched


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: TANDEM_SCREENSHOTS when set, else the test's own folder."""
    folder = Path(os.environ.get("TANDEM_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
