"""Fixtures for tests that drive a real served Tandem with third-party clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.served import served_tandem


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of `tandem serve` on this run's database, in development."""
    cwd: Path = tmp_path_factory.mktemp("served")
    with served_tandem(database_url=database_url, cwd=cwd) as base_url:
        yield base_url
