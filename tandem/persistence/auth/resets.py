"""Every statement about password-reset tokens (stored as SHA-256 digests only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    LargeBinary,
    Select,
    bindparam,
    func,
    insert,
    select,
    update,
)

from tandem.domain.auth.records import ResetTarget
from tandem.persistence.auth.models import PasswordReset
from tandem.persistence.sql import Connection, compile_query
from tandem.persistence.users.models import User

R = PasswordReset
_HASH = bindparam("token_hash", type_=LargeBinary)
_USER_ID = bindparam("user_id", type_=BigInteger)


def _issue() -> Select[Any]:
    """One statement, whether or not the email is an active account's (no timing tell):
    it spends the account's outstanding tokens, stores the new one, and says whose it is."""
    target = (
        select(User.id, User.email, User.name)
        .where(User.email == bindparam("email"), User.is_active)
        .cte("target")
    )
    spent = (
        update(R)
        .where(R.user_id.in_(select(target.c.id)), R.used_at.is_(None))
        .values(used_at=func.now())
        .returning(R.id)
        .cte("spent")
    )
    issued = (
        insert(R)
        .from_select(
            ["user_id", "token_hash", "expires_at"],
            select(
                target.c.id,
                _HASH,
                bindparam("expires_at", type_=DateTime(timezone=True)),
            ),
        )
        .returning(R.user_id)
        .cte("issued")
    )
    return (
        select(target.c.id, target.c.email, target.c.name)
        .where(target.c.id.in_(select(issued.c.user_id)))
        .add_cte(spent)
    )


_ISSUE = compile_query(_issue())
# A transaction that wrote rows waits at commit for its WAL to reach the disk; one that
# found no account wrote nothing and does not. That wait (a few milliseconds) would tell
# known addresses from unknown ones, so recovery's transaction does not wait: a crash in
# the next fraction of a second may lose the token and its mail, and the user asks again.
_NO_FLUSH_WAIT = compile_query(select(func.set_config("synchronous_commit", "off", True)))
_VALID = (R.token_hash == _HASH, R.used_at.is_(None), R.expires_at > func.now())
_IS_VALID = compile_query(
    select(R.user_id).join(User, User.id == R.user_id).where(*_VALID, User.is_active)
)
# Spending checks everything again in the write itself: of two concurrent resets with one
# token, exactly one gets the user back.
_SPEND = compile_query(
    update(R)
    .where(*_VALID, User.id == R.user_id, User.is_active)
    .values(used_at=func.now())
    .returning(R.user_id)
)
_SPEND_ALL = compile_query(
    update(R).where(R.user_id == _USER_ID, R.used_at.is_(None)).values(used_at=func.now())
)


class PasswordResetRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def issue(
        self, *, email: str, token_hash: bytes, expires_at: datetime
    ) -> ResetTarget | None:
        """Store a token for the active account with this email (older ones are spent)."""
        await self._connection.execute(_NO_FLUSH_WAIT)
        row = await self._connection.row(
            _ISSUE, email=email, token_hash=token_hash, expires_at=expires_at
        )
        return None if row is None else ResetTarget(*row)

    async def is_valid(self, token_hash: bytes) -> bool:
        return await self._connection.value(_IS_VALID, token_hash=token_hash) is not None

    async def spend(self, token_hash: bytes) -> int | None:
        """Spend a valid token; the user it was for, or None (unknown, used or expired)."""
        user_id: int | None = await self._connection.value(_SPEND, token_hash=token_hash)
        return user_id

    async def spend_all(self, user_id: int) -> None:
        await self._connection.execute(_SPEND_ALL, user_id=user_id)
