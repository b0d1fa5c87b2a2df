"""Counting the SQL statements a request runs, as the database layer reports them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tandem.domain.services import Services


@contextmanager
def count_statements(services: Services) -> Iterator[list[str]]:
    """Yield a list that fills with every statement the app runs meanwhile."""
    statements: list[str] = []
    services.database.observers.append(statements.append)
    try:
        yield statements
    finally:
        services.database.observers.remove(statements.append)
