"""API clients and webhook endpoints pin a dated API version

Revision ID: 0020_api_versions
Revises: 0019_read_positions

Existing clients and endpoints get the oldest version, 2026-12-01: what they were
served before versions existed. New ones are written with the newest by the server
(tandem/http/versions); the default only fills the rows already there. Adding a column
with a constant default rewrites no table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_api_versions"
down_revision: str | None = "0019_read_positions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLDEST = "2026-12-01"


def upgrade() -> None:
    for table in ("api_clients", "webhook_endpoints"):
        op.add_column(
            table,
            sa.Column("api_version", sa.Text(), nullable=False, server_default=OLDEST),
        )


def downgrade() -> None:
    for table in ("api_clients", "webhook_endpoints"):
        op.drop_column(table, "api_version")
