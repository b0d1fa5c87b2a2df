"""Alembic, configured in code so `tandem migrate` works from any directory."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    """Every revision this code's migrations name, head included."""
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(revision.revision for revision in script.walk_revisions())


def serves_revision(current: str | None) -> bool:
    """Whether this code can serve a database at `current`.

    At head, yes. At a revision this code does not know, yes too: a newer release has
    migrated it, and during a rolling deploy the older processes keep serving until they
    are replaced (migrations only add, as docs/deploy.md asks). Behind head (a revision
    this code knows, or none), no: the code would use columns that are not there yet.
    """
    if current is None:
        return False
    return current == head_revision() or current not in known_revisions()


def upgrade(url: str) -> None:
    """Apply every migration to `url`; a database already at head is left as it is."""
    command.upgrade(alembic_config(url), "head")


def recorded_sql(url: str) -> dict[str, str]:
    """Each migration's SQL as it ran, by revision, oldest first: `url` must be empty.

    The migrations run one by one against `url` while every statement SQLAlchemy sends is
    recorded, transaction boundaries included: data migrations (which read rows before they
    write) cannot be rendered offline, and this is what a deployment's database will run.
    squawk lints it (.ci/lint_migrations.py).
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    lines: list[str] = []

    def migrating(conn: Any) -> bool:
        return not conn.get_execution_options().get("tandem_migration_guard")  # env.py's lock

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if migrating(conn):
            lines.append(sql.strip().rstrip(";") + ";")

    def boundary(word: str) -> Any:
        def note(conn: Any) -> None:
            # An autocommit_block (CREATE INDEX CONCURRENTLY) runs outside any transaction.
            options = conn.get_execution_options()
            if migrating(conn) and options.get("isolation_level") != "AUTOCOMMIT":
                lines.append(word)

        return note

    hooks: list[tuple[str, Any]] = [
        ("before_cursor_execute", statement),
        ("begin", boundary("BEGIN;")),
        ("commit", boundary("COMMIT;")),
        ("rollback", boundary("ROLLBACK;")),
    ]
    for name, hook in hooks:
        event.listen(Engine, name, hook)
    script = ScriptDirectory.from_config(alembic_config())
    recorded = {}
    try:
        for revision in reversed(list(script.walk_revisions())):
            lines.clear()
            command.upgrade(alembic_config(url), revision.revision)
            recorded[revision.revision] = "\n\n".join(lines) + "\n"
    finally:
        for name, hook in hooks:
            event.remove(Engine, name, hook)
    return recorded
