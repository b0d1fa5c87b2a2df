"""What the auth use cases need from storage; persistence implements it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from tandem.domain.auth.records import PrincipalRow, ResetTarget, SpentRefreshToken


class TokenRepository(Protocol):
    async def principal(
        self, *, user_id: int, family_id: uuid.UUID | None, jti: uuid.UUID
    ) -> PrincipalRow | None: ...

    async def open_family(self, user_id: int, *, scope: str | None = None) -> uuid.UUID | None: ...

    async def add_refresh_token(
        self, *, family_id: uuid.UUID, token_hash: bytes, expires_at: datetime
    ) -> None: ...

    async def spend_refresh_token(self, token_hash: bytes) -> SpentRefreshToken | None: ...

    async def family_of(self, token_hash: bytes) -> uuid.UUID | None: ...

    async def revoke_family(self, family_id: uuid.UUID) -> None: ...

    async def revoke_user_families(
        self, user_id: int, *, keep: uuid.UUID | None = None
    ) -> None: ...

    async def revoke_access_token(self, *, jti: uuid.UUID, expires_at: datetime) -> None: ...


class PasswordResetRepository(Protocol):
    async def issue(
        self, *, email: str, token_hash: bytes, expires_at: datetime
    ) -> ResetTarget | None:
        """Store a token for the active account with `email`, spending its older ones.

        The same statement runs whether or not there is such an account.
        """
        ...

    async def is_valid(self, token_hash: bytes) -> bool: ...

    async def spend(self, token_hash: bytes) -> int | None:
        """Spend a valid token: the user it was for, or None (unknown, used or expired)."""
        ...

    async def spend_all(self, user_id: int) -> None: ...
