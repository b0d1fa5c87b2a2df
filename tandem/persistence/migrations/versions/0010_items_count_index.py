"""items (status, owner_id): the REST list's total as an index-only count

A member's list counts `status <> 'draft' OR owner_id = $viewer`. Without this
index that is a sequential scan of the whole table (1,048 pages on the bench's
20,000 items); with it, an index-only scan of 32 pages (docs/performance.md).

Revision ID: 0010_count_index
Revises: 0004_clients
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_count_index"
down_revision: str | None = "0004_clients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_items_status_owner_id", "items", ["status", "owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_items_status_owner_id", table_name="items")
