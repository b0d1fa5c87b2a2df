"""Each caller's read-your-writes position: kept after a write, read by the guard.

See tandem/persistence/replicas.py for how reads are routed with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY, insert

from tandem.domain import reads
from tandem.persistence.positions.models import ReadPosition
from tandem.persistence.sql import compile_query
from tandem.persistence.webhooks.models import WebhookEndpoint

# Positions are bytes of WAL since its start: pg_lsn minus '0/0', as a bigint.
_WAL_INSERTED: Any = literal_column("(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")

_upsert = insert(ReadPosition).values(user_id=bindparam("user_id"), lsn=_WAL_INSERTED)
# Run after the write's commit returned, so the insert position is past its commit record.
RECORD_POSITION = compile_query(
    _upsert.on_conflict_do_update(
        index_elements=[ReadPosition.user_id],
        set_={"lsn": func.greatest(ReadPosition.lsn, _upsert.excluded.lsn)},
    )
)

# A webhook's receiver is told of a change it did not make, and may read it back at once: when
# a worker claims deliveries (after the events committed), their endpoints' owners read the
# primary until a replica has replayed this far.
_owners = insert(ReadPosition).from_select(
    ["user_id", "lsn"],
    select(WebhookEndpoint.owner_id, _WAL_INSERTED)
    .where(WebhookEndpoint.id == func.any(bindparam("endpoint_ids", type_=ARRAY(BigInteger))))
    .distinct(),
)
RECORD_OWNERS_POSITION = compile_query(
    _owners.on_conflict_do_update(
        index_elements=[ReadPosition.user_id],
        set_={"lsn": func.greatest(ReadPosition.lsn, _owners.excluded.lsn)},
    )
)


def position_of(user_id: Any) -> Any:
    """The caller's position, as one more column of the guard's statement (NULL: none kept)."""
    return select(ReadPosition.lsn).where(ReadPosition.user_id == user_id).scalar_subquery()


def writes_for(user_id: int) -> None:
    """A sign-in or a refresh writes for a caller the request does not know yet: its
    position is then kept under that user (replicas.py keeps it after the commit)."""
    route = reads.current()
    if route is not None and route.caller is None:
        route.caller = user_id
