"""read_positions: each caller's last write's WAL position, for read-your-writes on replicas.

UNLOGGED: its writes make no WAL and need no flush (a commit that wrote only here is
asynchronous), it is never replicated (it is only ever read on the primary, by the
guard's statement), and a crash of the primary empties it (docs/architecture.md says
what that costs).
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from tandem.persistence.base import Base


class ReadPosition(Base):
    __tablename__ = "read_positions"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    # No foreign key: a user's row outlives nothing it matters to (ids are never reused).
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # pg_current_wal_insert_lsn() - '0/0' after the commit: bytes since the WAL's start.
    lsn: Mapped[int] = mapped_column(BigInteger, nullable=False)
