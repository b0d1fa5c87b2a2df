"""Every statement about token families, refresh tokens and revoked access tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    LargeBinary,
    Text,
    Uuid,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tandem.domain import reads
from tandem.domain.auth.records import PrincipalRow, SpentRefreshToken
from tandem.persistence.auth.models import RefreshToken, RevokedAccessToken, TokenFamily
from tandem.persistence.positions.statements import position_of, writes_for
from tandem.persistence.sql import Connection, compile_query
from tandem.persistence.users.models import User

_USER_ID = bindparam("user_id", type_=BigInteger)
_FAMILY_ID = bindparam("family_id", type_=Uuid)
_TOKEN_HASH = bindparam("token_hash", type_=LargeBinary)

# One statement for the guard; a token without a family compares with NULL and matches none.
_PRINCIPAL_COLUMNS = (
    User.id,
    User.role,
    User.is_active,
    exists()
    .where(TokenFamily.id == _FAMILY_ID, TokenFamily.revoked_at.is_not(None))
    .correlate(None),
    exists().where(RevokedAccessToken.jti == bindparam("jti", type_=Uuid)),
)
_PRINCIPAL = compile_query(select(*_PRINCIPAL_COLUMNS).where(User.id == _USER_ID))
# With read replicas: the same, and the caller's read-your-writes position (replicas.py).
_PRINCIPAL_AND_POSITION = compile_query(
    select(*_PRINCIPAL_COLUMNS, position_of(User.id)).where(User.id == _USER_ID)
)
# A sign-in racing its account's deletion: the user row is key-share locked (as the foreign
# key's check would), so the insert waits for the deletion and then finds no user (no row
# inserted) instead of failing on the foreign key after it.
_OPEN_FAMILY = compile_query(
    insert(TokenFamily)
    .from_select(
        ["id", "user_id", "scope"],
        select(_FAMILY_ID, User.id, bindparam("scope", type_=Text))
        .where(User.id == _USER_ID)
        .with_for_update(key_share=True),
    )
    .returning(TokenFamily.id)
)
_ADD_REFRESH_TOKEN = compile_query(
    insert(RefreshToken).values(
        family_id=_FAMILY_ID,
        token_hash=_TOKEN_HASH,
        expires_at=bindparam("expires_at", type_=DateTime(timezone=True)),
    )
)
# Lock order, family before token, is the one an account's deletion takes (its cascade deletes
# the families, then their tokens). A refresh that locked its token first and then waited for
# its family (the new token's foreign key) deadlocked with a deletion holding the family.
_LOCK_FAMILY_OF_TOKEN = compile_query(
    select(TokenFamily.id)
    .join(RefreshToken, RefreshToken.family_id == TokenFamily.id)
    .where(RefreshToken.token_hash == _TOKEN_HASH)
    .with_for_update(of=TokenFamily, key_share=True)
)
_LOCK_REFRESH_TOKEN = compile_query(
    select(
        RefreshToken.id,
        RefreshToken.family_id,
        TokenFamily.user_id,
        RefreshToken.used_at.is_not(None),
        RefreshToken.expires_at <= func.now(),
        TokenFamily.revoked_at.is_not(None),
        TokenFamily.scope,
    )
    .join(TokenFamily, TokenFamily.id == RefreshToken.family_id)
    .where(RefreshToken.token_hash == _TOKEN_HASH)
    .with_for_update(of=RefreshToken)
)
_SPEND_REFRESH_TOKEN = compile_query(
    update(RefreshToken)
    .where(RefreshToken.id == bindparam("token_id", type_=BigInteger))
    .values(used_at=func.now())
)
_FAMILY_OF = compile_query(
    select(RefreshToken.family_id).where(RefreshToken.token_hash == _TOKEN_HASH)
)
_REVOKE_FAMILY = compile_query(
    update(TokenFamily)
    .where(TokenFamily.id == _FAMILY_ID, TokenFamily.revoked_at.is_(None))
    .values(revoked_at=func.now())
)
# `keep` is the caller's own family, or NULL to revoke them all (`id IS DISTINCT FROM NULL`).
_REVOKE_USER_FAMILIES = compile_query(
    update(TokenFamily)
    .where(
        TokenFamily.user_id == _USER_ID,
        TokenFamily.revoked_at.is_(None),
        TokenFamily.id.is_distinct_from(bindparam("keep", type_=Uuid)),
    )
    .values(revoked_at=func.now())
)
_REVOKE_ACCESS_TOKEN = compile_query(
    pg_insert(RevokedAccessToken)
    .values(
        jti=bindparam("jti", type_=Uuid),
        expires_at=bindparam("expires_at", type_=DateTime(timezone=True)),
    )
    .on_conflict_do_nothing(index_elements=[RevokedAccessToken.jti])
)
# Entries for tokens that have expired anyway are no longer needed.
_FORGET_EXPIRED = compile_query(
    delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < func.now())
)


class TokenRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def principal(
        self, *, user_id: int, family_id: uuid.UUID | None, jti: uuid.UUID
    ) -> PrincipalRow | None:
        route = reads.current()
        if route is None:
            row = await self._connection.row(
                _PRINCIPAL, user_id=user_id, family_id=family_id, jti=jti
            )
            return None if row is None else PrincipalRow(*row)
        row = await self._connection.row(
            _PRINCIPAL_AND_POSITION, user_id=user_id, family_id=family_id, jti=jti
        )
        if row is None:
            return None
        route.caller, route.position, route.known = row[0], row[5], True
        return PrincipalRow(*row[:5])

    async def open_family(self, user_id: int, *, scope: str | None = None) -> uuid.UUID | None:
        """A new login of this user; None when the user is gone (deleted meanwhile)."""
        opened: uuid.UUID | None = await self._connection.value(
            _OPEN_FAMILY, family_id=uuid.uuid4(), user_id=user_id, scope=scope
        )
        writes_for(user_id)
        return opened

    async def add_refresh_token(
        self, *, family_id: uuid.UUID, token_hash: bytes, expires_at: datetime
    ) -> None:
        await self._connection.execute(
            _ADD_REFRESH_TOKEN, family_id=family_id, token_hash=token_hash, expires_at=expires_at
        )

    async def spend_refresh_token(self, token_hash: bytes) -> SpentRefreshToken | None:
        """Mark the token used and say what it was; a second spend reports `already_used`.

        The row is locked, so two concurrent presentations of one token cannot both win;
        its family is locked first (see `_LOCK_FAMILY_OF_TOKEN`).
        """
        if await self._connection.value(_LOCK_FAMILY_OF_TOKEN, token_hash=token_hash) is None:
            return None
        row = await self._connection.row(_LOCK_REFRESH_TOKEN, token_hash=token_hash)
        if row is None:
            return None
        token_id, family_id, user_id, already_used, expired, family_revoked, scope = row
        writes_for(user_id)
        if not already_used:
            await self._connection.execute(_SPEND_REFRESH_TOKEN, token_id=token_id)
        return SpentRefreshToken(family_id, user_id, already_used, expired, family_revoked, scope)

    async def family_of(self, token_hash: bytes) -> uuid.UUID | None:
        family_id: uuid.UUID | None = await self._connection.value(
            _FAMILY_OF, token_hash=token_hash
        )
        return family_id

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self._connection.execute(_REVOKE_FAMILY, family_id=family_id)

    async def revoke_user_families(self, user_id: int, *, keep: uuid.UUID | None = None) -> None:
        """Revoke every login of this user, except `keep` (the caller's own) if given."""
        await self._connection.execute(_REVOKE_USER_FAMILIES, user_id=user_id, keep=keep)

    async def revoke_access_token(self, *, jti: uuid.UUID, expires_at: datetime) -> None:
        await self._connection.execute(_REVOKE_ACCESS_TOKEN, jti=jti, expires_at=expires_at)
        await self._connection.execute(_FORGET_EXPIRED)
