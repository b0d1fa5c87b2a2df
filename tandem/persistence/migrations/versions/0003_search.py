"""search: trigrams over title and description, symbols for what trigrams cannot see

Revision ID: 0003_search
Revises: 0002_events
Create Date: 2026-12-01 20:10:00

Replaces the word-prefix tsvector with pg_trgm: substrings (`amp` finds "lamp"),
small typos (`<%`, word similarity) and every script, through one GIN index.
pg_trgm keeps only letters and digits, so emoji and other symbols get a second
GIN index of their own (`search_symbols`, one element per code point).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_search"
down_revision: str | None = "0002_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_TEXT = "title || ' ' || coalesce(description, '')"
SEARCH_SYMBOLS = f"string_to_array(regexp_replace({SEARCH_TEXT}, '[[:alnum:][:space:]\\x01-\\x7f]', '', 'g'), NULL)"
# pg_trgm's default (0.6) misses one wrong letter in most words under eight letters; 0.5
# catches "lantren" for "lantern" and "keybord" for "keyboard" while keeping matches close.
# Set for the database, so every session (each pooled connection) has it; a role that may
# not alter the database keeps the default and a little less tolerance.
SET_THRESHOLD = """
DO $$
BEGIN
    EXECUTE format(
        'ALTER DATABASE %I SET pg_trgm.word_similarity_threshold = 0.5', current_database()
    );
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'not the database owner: pg_trgm.word_similarity_threshold stays at its default';
END
$$
"""
RESET_THRESHOLD = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET pg_trgm.word_similarity_threshold', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END
$$
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(SET_THRESHOLD)
    op.drop_index("ix_items_search", table_name="items", postgresql_using="gin")
    op.drop_column("items", "search")
    op.add_column(
        "items",
        sa.Column("search_text", sa.Text(), sa.Computed(SEARCH_TEXT, persisted=True)),
    )
    op.add_column(
        "items",
        sa.Column(
            "search_symbols",
            postgresql.ARRAY(sa.Text()),
            sa.Computed(SEARCH_SYMBOLS, persisted=True),
        ),
    )
    op.create_index(
        "ix_items_search_text",
        "items",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_items_search_symbols",
        "items",
        ["search_symbols"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_items_search_symbols", table_name="items", postgresql_using="gin")
    op.drop_index("ix_items_search_text", table_name="items", postgresql_using="gin")
    op.drop_column("items", "search_symbols")
    op.drop_column("items", "search_text")
    op.add_column(
        "items",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(f"to_tsvector('simple', {SEARCH_TEXT})", persisted=True),
        ),
    )
    op.create_index("ix_items_search", "items", ["search"], unique=False, postgresql_using="gin")
    op.execute(RESET_THRESHOLD)
