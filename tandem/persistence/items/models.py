"""The items table, with an index for every filter and sort the contract offers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tandem.persistence.base import Base, created_at_column

if TYPE_CHECKING:
    from tandem.persistence.users.models import User

# What search reads: the title and the description, as one text (trigram-indexed).
SEARCH_TEXT = "title || ' ' || coalesce(description, '')"
# The characters of that text that trigrams cannot see (pg_trgm keeps only letters and
# digits): emoji and other non-ASCII symbols, one array element per code point.
NOT_A_SYMBOL = "[[:alnum:][:space:]\\x01-\\x7f]"
SEARCH_SYMBOLS = f"string_to_array(regexp_replace({SEARCH_TEXT}, '{NOT_A_SYMBOL}', '', 'g'), NULL)"


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_non_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_items_created_at_id", "created_at", "id"),
        Index("ix_items_owner_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_items_title_id", "title", "id"),
        Index("ix_items_price_id", func.coalesce(literal_column("price"), -1), "id"),
        Index("ix_items_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_items_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        Index("ix_items_search_symbols", "search_symbols", postgresql_using="gin"),
        # What the visibility rule reads, so a list's `total` is an index-only count.
        Index("ix_items_status_owner_id", "status", "owner_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), nullable=False, server_default=text("'{}'")
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="published")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    search_text: Mapped[str] = mapped_column(Text, Computed(SEARCH_TEXT, persisted=True))
    search_symbols: Mapped[list[str]] = mapped_column(
        ARRAY(Text), Computed(SEARCH_SYMBOLS, persisted=True)
    )

    owner: Mapped[User] = relationship(back_populates="items", lazy="raise")
