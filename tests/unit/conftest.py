"""The fast tier: pure rules, codecs and analyses. No test here starts a database.

The suite's autouse fixture empties the database's tables after each test; here it is
replaced by one that does nothing, so `pytest tests/unit` runs without PostgreSQL.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    return None
