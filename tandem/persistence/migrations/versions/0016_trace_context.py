"""the outbox keeps the trace a change was made in (events, webhook deliveries, mail)

Each row takes, by default, the writing transaction's `tandem.traceparent` setting (set
only when the request is traced; tandem/persistence/trace_context.py), so the worker can
continue that trace in the webhook's and the mail's spans. A nullable column with no
default, then the default: both catalogue-only, no rewrite, no long lock.

Revision ID: 0016_trace_context
Revises: 0015_access_notifications
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_trace_context"
down_revision: str | None = "0015_access_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("events", "webhook_deliveries", "mail_outbox")
DEFAULT = "NULLIF(current_setting('tandem.traceparent'::text, true), ''::text)"


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("traceparent", sa.Text(), nullable=True))
        op.alter_column(table, "traceparent", server_default=sa.text(DEFAULT))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_column(table, "traceparent")
