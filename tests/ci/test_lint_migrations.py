"""`.ci/lint_migrations.py`: squawk lints every migration's SQL, recorded as it runs.

The migrations on this branch pass; a new migration that would block a busy table fails,
as does an exception that no longer matches anything.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tandem.persistence.migrate import recorded_sql
from tests.ops.databases import scratch_database

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "lint_migrations.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_migrations", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


lint_migrations = _module()

# What `op.create_index(...)` and `op.add_column(...)` send, in a new revision.
BLOCKING = """BEGIN;
SET LOCAL lock_timeout = '3s';
CREATE INDEX ix_items_owner_id ON items (owner_id);
ALTER TABLE items ADD COLUMN archived_by BIGINT NOT NULL;
UPDATE alembic_version SET version_num='0099_new' WHERE alembic_version.version_num = '0011_mail';
COMMIT;
"""


@pytest.fixture(scope="module")
def recorded(database_url):
    with scratch_database(database_url, "lint_migrations") as url:
        return recorded_sql(url)


def test_every_migration_runs_in_its_transaction_with_a_lock_timeout(recorded):
    assert next(iter(recorded)) == "0001"
    for revision, sql in recorded.items():
        statements = [line.strip() for line in sql.split("\n\n") if line.strip()]
        assert statements[:2] == ["BEGIN;", "SET LOCAL lock_timeout = '3s';"], revision
        assert statements[-1] == "COMMIT;" and f"'{revision}'" in sql, revision


def test_the_migrations_pass_squawk(recorded):
    assert lint_migrations.problems(lint_migrations.lint(recorded)) == []


def test_a_migration_that_blocks_a_busy_table_fails(recorded):
    found = lint_migrations.problems(lint_migrations.lint({**recorded, "0099_new": BLOCKING}))
    rules = {line.split(": ")[1] for line in found}
    assert rules == {"require-concurrent-index-creation", "adding-required-field"}
    assert all(line.startswith("0099_new.sql:") for line in found)


def test_an_exception_that_matches_nothing_fails(recorded):
    rendered = {**recorded}
    del rendered["0010_count_index"]
    assert lint_migrations.problems(lint_migrations.lint(rendered)) == [
        "0010_count_index: require-concurrent-index-creation: excepted in "
        ".ci/lint_migrations.py but no longer found"
    ]
