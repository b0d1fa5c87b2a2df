"""fair deliveries: attempts recorded before they are sent; pending deliveries by endpoint

A claim writes each attempt as started (no duration yet), so an attempt whose worker
dies stays in the log. The partial index serves the claim's per-endpoint room.

Revision ID: 0012_fair_deliveries
Revises: 0011_mail
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_fair_deliveries"
down_revision: str | None = "0011_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("webhook_attempts", "duration_ms", existing_type=sa.Integer(), nullable=True)
    with op.get_context().autocommit_block():  # built without blocking the workers' writes
        op.create_index(
            "ix_webhook_deliveries_endpoint_pending",
            "webhook_deliveries",
            ["endpoint_id", "next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_webhook_deliveries_endpoint_pending",
            table_name="webhook_deliveries",
            postgresql_concurrently=True,
        )
    op.execute("DELETE FROM webhook_attempts WHERE duration_ms IS NULL")
    op.alter_column("webhook_attempts", "duration_ms", existing_type=sa.Integer(), nullable=False)
