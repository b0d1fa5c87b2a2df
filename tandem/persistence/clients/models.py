"""Partner API clients: a name, the user they act for, their scopes, a hashed secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tandem.persistence.base import Base, created_at_column


class ApiClient(Base):
    """`generation` changes when the secret is rotated: tokens carry it, so old ones stop."""

    __tablename__ = "api_clients"
    __table_args__ = (Index("ix_api_clients_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    scopes: Mapped[str] = mapped_column(Text, nullable=False)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    generation: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    # The dated API version (tandem/http/versions) its requests get when they name none.
    api_version: Mapped[str] = mapped_column(Text, nullable=False, server_default="2026-12-01")
    created_at: Mapped[datetime] = created_at_column()
