"""Counting the SQL statements a request runs, with SQLAlchemy engine events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tandem.domain.services import Services


@contextmanager
def count_statements(services: Services) -> Iterator[list[str]]:
    """Yield a list that fills with every statement run on the app's engine meanwhile."""
    statements: list[str] = []
    engine = services.database.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
