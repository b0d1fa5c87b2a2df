"""idempotency keys keep the first caller's authority; keys belong to a login or a client

Revision ID: 0018_idempotency_authority
Revises: 0017_sealed_secrets

A key's owner is now the login (user and token family) or the partner client, so the
keys stored under the old owner (the user alone) can never be replayed: they are
dropped rather than kept for a day with no authority to check a replay against.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_idempotency_authority"
down_revision: str | None = "0017_sealed_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys")
    # The default only fills the (now empty) table's rows: the server always writes it.
    op.add_column(
        "idempotency_keys",
        sa.Column("authority", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "authority")
