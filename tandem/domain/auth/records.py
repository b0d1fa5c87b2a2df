"""What the token store answers about tokens and the users behind them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


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
    scope: str | None  # what the login was granted; None: every scope (older logins)


@dataclass(frozen=True, slots=True)
class ResetTarget:
    """The account a password-reset token was issued for, as its mail needs it."""

    user_id: int
    email: str
    name: str
