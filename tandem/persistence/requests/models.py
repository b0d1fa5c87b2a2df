"""The request_log table: one row per finished request of a signed-in caller, kept 7 days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import REAL, BigInteger, DateTime, Identity, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tandem.persistence.base import Base


class RequestLogRow(Base):
    __tablename__ = "request_log"
    __table_args__ = (
        Index("ix_request_log_user_id_id", "user_id", "id"),
        Index("ix_request_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # No foreign key: lines are written in batches after the answer, and a batch must not fail
    # because one of its users was deleted meanwhile; user ids are never reused, and the
    # purge takes the lines away after 7 days.
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    route: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str] = mapped_column(String(128), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    duration_ms: Mapped[float] = mapped_column(REAL, nullable=False)
