"""Every statement about token families, refresh tokens and revoked access tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tandem.persistence.auth.models import RefreshToken, RevokedAccessToken, TokenFamily
from tandem.persistence.users.models import User


@dataclass(frozen=True, slots=True)
class PrincipalRow:
    """What the guard needs to know about a token's user, read in one statement."""

    user_id: int
    role: str
    is_active: bool
    family_revoked: bool
    token_revoked: bool


@dataclass(frozen=True, slots=True)
class SpentRefreshToken:
    """The outcome of presenting a refresh token."""

    family_id: uuid.UUID
    user_id: int
    already_used: bool
    expired: bool
    family_revoked: bool


class TokenRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def principal(
        self, *, user_id: int, family_id: uuid.UUID | None, jti: uuid.UUID
    ) -> PrincipalRow | None:
        family_revoked = (
            exists()
            .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_not(None))
            .correlate(None)
            if family_id is not None
            else literal(False)
        )
        statement = select(
            User.id,
            User.role,
            User.is_active,
            family_revoked,
            exists().where(RevokedAccessToken.jti == jti),
        ).where(User.id == user_id)
        row = (await self._connection.execute(statement)).first()
        return None if row is None else PrincipalRow(*row)

    async def open_family(self, user_id: int) -> uuid.UUID:
        family_id = uuid.uuid4()
        await self._connection.execute(insert(TokenFamily).values(id=family_id, user_id=user_id))
        return family_id

    async def add_refresh_token(
        self, *, family_id: uuid.UUID, token_hash: bytes, expires_at: datetime
    ) -> None:
        await self._connection.execute(
            insert(RefreshToken).values(
                family_id=family_id, token_hash=token_hash, expires_at=expires_at
            )
        )

    async def spend_refresh_token(self, token_hash: bytes) -> SpentRefreshToken | None:
        """Mark the token used and say what it was; a second spend reports `already_used`.

        The row is locked, so two concurrent presentations of one token cannot both win.
        """
        statement = (
            select(
                RefreshToken.id,
                RefreshToken.family_id,
                TokenFamily.user_id,
                RefreshToken.used_at.is_not(None),
                RefreshToken.expires_at <= func.now(),
                TokenFamily.revoked_at.is_not(None),
            )
            .join(TokenFamily, TokenFamily.id == RefreshToken.family_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=RefreshToken)
        )
        row = (await self._connection.execute(statement)).first()
        if row is None:
            return None
        token_id, family_id, user_id, already_used, expired, family_revoked = row
        if not already_used:
            await self._connection.execute(
                update(RefreshToken).where(RefreshToken.id == token_id).values(used_at=func.now())
            )
        return SpentRefreshToken(family_id, user_id, already_used, expired, family_revoked)

    async def family_of(self, token_hash: bytes) -> uuid.UUID | None:
        statement = select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash)
        family_id: uuid.UUID | None = (await self._connection.execute(statement)).scalar()
        return family_id

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self._connection.execute(
            update(TokenFamily)
            .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def revoke_user_families(self, user_id: int, *, keep: uuid.UUID | None = None) -> None:
        """Revoke every login of this user, except `keep` (the caller's own) if given."""
        statement = (
            update(TokenFamily)
            .where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        if keep is not None:
            statement = statement.where(TokenFamily.id != keep)
        await self._connection.execute(statement)

    async def revoke_access_token(self, *, jti: uuid.UUID, expires_at: datetime) -> None:
        await self._connection.execute(
            pg_insert(RevokedAccessToken)
            .values(jti=jti, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[RevokedAccessToken.jti])
        )
        # Entries for tokens that have expired anyway are no longer needed.
        await self._connection.execute(
            delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < func.now())
        )
