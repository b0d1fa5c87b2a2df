"""The events table: the outbox every change leaves through (see the repository's docstring)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tandem.persistence.base import Base, created_at_column
from tandem.persistence.trace_context import traceparent_column

# The writing transaction's id as a bigint (xid8 is 64 bits, never wraps): see the repository.
CURRENT_TRANSACTION = "(pg_current_xact_id())::text::bigint"


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(
            "type IN ('item.created', 'item.updated', 'item.deleted')", name="type_known"
        ),
        Index("uq_events_public_id", "public_id", unique=True),
        Index("ix_events_position", "txid", "id"),
        Index("ix_events_type_position", "type", "txid", "id"),
        Index("ix_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), nullable=False)
    txid: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default=text(CURRENT_TRANSACTION)
    )
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    item_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # No foreign key: an event outlives its item and its owner (a deleted account's items).
    owner_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    draft: Mapped[bool] = mapped_column(Boolean, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    traceparent: Mapped[str | None] = traceparent_column()  # the writing request's trace
