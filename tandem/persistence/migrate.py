"""Alembic, configured in code so `tandem migrate` works from any directory."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

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


def render_sql() -> dict[str, str]:
    """Each migration's SQL, rendered offline (no database), by revision, oldest first.

    What `alembic upgrade <previous>:<revision> --sql` prints: the statements the migration
    runs, in its transaction, as squawk lints them (.ci/lint_migrations.py).
    """
    script = ScriptDirectory.from_config(alembic_config())
    rendered = {}
    for revision in reversed(list(script.walk_revisions())):
        output = io.StringIO()
        config = alembic_config()
        config.output_buffer = output
        previous = revision.down_revision or "base"
        assert isinstance(previous, str), "Tandem's migrations form one line"
        command.upgrade(config, f"{previous}:{revision.revision}", sql=True)
        rendered[revision.revision] = output.getvalue()
    return rendered
