"""Argon2id password hashing, off the event loop, with a guard against user enumeration."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tandem.domain.errors import ValidationFailed
from tandem.domain.wording import length

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def check_password_rules(password: str, *, loc: tuple[str, ...] = ("password",)) -> None:
    """Length is checked before any hashing, so a huge password costs nothing."""
    rule = length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.one(loc, rule, "string_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed.one(loc, rule, "string_too_long")


class PasswordHasher:
    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._argon2 = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check `password`; with no hash (unknown user) spend the same time and say no."""
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash("not-a-password-of-anyone")
            await asyncio.to_thread(self._verify, self._dummy_hash, password)
            return False
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
