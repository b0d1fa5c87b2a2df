"""read_positions: each caller's last write's WAL position (read replicas, read-your-writes)

Revision ID: 0019_read_positions
Revises: 0018_idempotency_authority

UNLOGGED: written after each write of a caller when DATABASE_REPLICA_URLS is set, read by
the guard's statement on the primary; never replicated, emptied by a crash of the primary.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_read_positions"
down_revision: str | None = "0018_idempotency_authority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "read_positions",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("lsn", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_read_positions")),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("read_positions")
