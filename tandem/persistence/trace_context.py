"""The trace a change was made in, kept on the outbox rows it wrote (events, deliveries, mail).

Each outbox table has a `traceparent` column whose default is the write transaction's
`tandem.traceparent` setting, which `tandem.observability.tracing.stamp` sets when the
request is traced: no statement names the column, so none of them changes for it, and with
tracing off the setting is never set and the column stays NULL. A worker reads it back to
continue the trace in the webhook's or the mail's span.
"""

from __future__ import annotations

from sqlalchemy import Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tandem.observability.tracing import SESSION_SETTING

# A custom setting reads '' (not NULL) in a session where it was once set and has reset.
# Written as PostgreSQL shows it, so Alembic compares the model's default with the table's.
DEFAULT = f"NULLIF(current_setting('{SESSION_SETTING}'::text, true), ''::text)"


def traceparent_column() -> Mapped[str | None]:
    return mapped_column(Text, nullable=True, server_default=text(DEFAULT))
