"""What the users use cases need from storage; persistence implements it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from tandem.domain.pages import Rows
from tandem.domain.users.records import UserCredentials, UserRecord


class UserRepository(Protocol):
    async def add(
        self, *, email: str, name: str, password_hash: str, role: str
    ) -> UserRecord | None: ...

    async def get(self, user_id: int) -> UserRecord | None: ...

    async def get_many(self, user_ids: list[int]) -> list[UserRecord]: ...

    async def credentials(self, email: str) -> UserCredentials | None: ...

    async def password_hash(self, user_id: int) -> str | None: ...

    async def page(self, *, offset: int, limit: int) -> tuple[list[UserRecord], int]: ...

    async def keyset(
        self,
        *,
        after_id: int | None,
        limit: int,
        backward: bool = False,
        look_behind: bool = False,
    ) -> Rows[UserRecord]: ...

    async def count(self) -> int: ...

    async def update(
        self, user_id: int, values: dict[str, Any], *, unchanged_since: datetime | None = None
    ) -> UserRecord | None: ...

    async def delete(self, user_id: int, *, unchanged_since: datetime | None = None) -> bool: ...

    async def other_active_admins(self, user_id: int) -> int: ...
