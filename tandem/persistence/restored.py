"""A database restored into another cluster must not be served behind its own events.

Events are ordered by the writing transaction's id (`events.txid`, 64 bits with the epoch),
and read only below the oldest running transaction. A logical restore (`pg_restore`) into a
cluster that has run fewer transactions than the one dumped keeps the old ids while the new
cluster hands out smaller ones: the events API and subscriptions would hide every old event,
and new events would sort before them. Every process checks this once as it migrates, and
refuses to start with the fix (`pg_resetwal -e`, docs/deploy.md "Backups and restore").
A physical restore (base backup and WAL) keeps the cluster's counter and never trips it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_EVENTS_TABLE = text("SELECT to_regclass('events')")
# The next id this cluster will assign, against the newest one an event was written with.
_POSITIONS = text(
    "SELECT (SELECT max(txid) FROM events), pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
)


class TransactionIdsBehind(RuntimeError):
    """The cluster's transaction ids are behind the events' (said in one line, with the fix)."""


def check_transaction_ids(connection: Connection) -> None:
    """Raise TransactionIdsBehind when this cluster would write events before the old ones."""
    if connection.execute(_EVENTS_TABLE).scalar() is None:
        return  # migrated only part of the way (a test, a lint): no events yet
    newest, next_id = connection.execute(_POSITIONS).one()
    if newest is None or newest < next_id:
        return
    epoch = (newest >> 32) + 1
    raise TransactionIdsBehind(
        f"the events were written by transaction ids up to {newest}, but this PostgreSQL "
        f"cluster is at {next_id}: the database was restored into another cluster, whose "
        f"new events would sort before the old ones. Stop the cluster, run `pg_resetwal -e "
        f"{epoch} -D <its data directory>`, start it again (docs/deploy.md, Backups and restore)"
    )
