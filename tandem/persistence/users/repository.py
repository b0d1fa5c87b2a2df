"""Every statement about users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tandem.persistence.users.models import User


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    name: str
    role: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserCredentials:
    id: int
    password_hash: str
    is_active: bool


_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.role,
    User.is_active,
    User.created_at,
    User.updated_at,
)


def _record(row: Any) -> UserRecord:
    return UserRecord(*row)


class UserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self, *, email: str, name: str, password_hash: str, role: str
    ) -> UserRecord | None:
        """Insert a user; None when the email (case-insensitively) is taken."""
        statement = (
            insert(User)
            .values(email=email, name=name, password_hash=password_hash, role=role)
            .on_conflict_do_nothing(index_elements=[func.lower(User.email)])
            .returning(*_COLUMNS)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _record(row)

    async def get(self, user_id: int) -> UserRecord | None:
        row = (await self._connection.execute(select(*_COLUMNS).where(User.id == user_id))).first()
        return None if row is None else _record(row)

    async def get_many(self, user_ids: list[int]) -> list[UserRecord]:
        """The users with these ids, in no particular order (missing ids are skipped)."""
        rows = await self._connection.execute(select(*_COLUMNS).where(User.id.in_(user_ids)))
        return [_record(row) for row in rows]

    async def credentials(self, email: str) -> UserCredentials | None:
        statement = select(User.id, User.password_hash, User.is_active).where(
            func.lower(User.email) == email.lower()
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else UserCredentials(*row)

    async def password_hash(self, user_id: int) -> str | None:
        statement = select(User.password_hash).where(User.id == user_id)
        value: str | None = (await self._connection.execute(statement)).scalar()
        return value

    async def page(self, *, offset: int, limit: int) -> tuple[list[UserRecord], int]:
        total = (await self._connection.execute(select(func.count()).select_from(User))).scalar()
        rows = await self._connection.execute(
            select(*_COLUMNS).order_by(User.id).offset(offset).limit(limit)
        )
        return [_record(row) for row in rows], int(total or 0)

    async def keyset(self, *, after_id: int | None, limit: int) -> list[UserRecord]:
        """Users in id order after `after_id`, for cursor pagination."""
        statement = select(*_COLUMNS).order_by(User.id).limit(limit)
        if after_id is not None:
            statement = statement.where(User.id > after_id)
        return [_record(row) for row in await self._connection.execute(statement)]

    async def count(self) -> int:
        total = (await self._connection.execute(select(func.count()).select_from(User))).scalar()
        return int(total or 0)

    async def update(self, user_id: int, values: dict[str, Any]) -> UserRecord | None:
        statement = (
            update(User)
            .where(User.id == user_id)
            .values(**values, updated_at=func.now())
            .returning(*_COLUMNS)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _record(row)

    async def delete(self, user_id: int) -> bool:
        result = await self._connection.execute(
            delete(User).where(User.id == user_id).returning(User.id)
        )
        return result.first() is not None

    async def other_active_admins(self, user_id: int) -> int:
        """How many active admins there are besides this user (locked, so two demotions queue).

        Every active admin is locked, this user included, in id order: two admins demoting
        themselves at once then wait for each other instead of deadlocking.
        """
        statement = (
            select(User.id)
            .where(User.role == "admin", User.is_active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
        admin_ids = (await self._connection.execute(statement)).scalars().all()
        return sum(1 for admin_id in admin_ids if admin_id != user_id)
