"""Password recovery: a reset link by mail, then a new password for whoever holds it.

Asking never says whether the address has an account: the answer is the same, and so
is the work (the same statements, the one that issues the token finding no account)
and what follows it: one mail either way, a reset link or a note that no account has
this address, so no mail counter, queue length or delivery tells them apart.
A token is 256 random bits, stored as its SHA-256, spent once, and lives at most
`ttl_seconds`; asking again spends the older ones, so only the latest mail's link works.
Resetting spends it, sets the password and ends every session of the account.
"""

from __future__ import annotations

import time
from asyncio import sleep
from datetime import UTC, datetime, timedelta

from tandem.domain.auth.passwords import PasswordHasher, check_password_rules
from tandem.domain.auth.throttle import RequestThrottle
from tandem.domain.auth.tokens import digest, new_opaque_token
from tandem.domain.errors import ValidationFailed
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.mail import messages
from tandem.domain.users.rules import clean_email
from tandem.domain.webhooks import takeback
from tandem.domain.webhooks.takeback import disable_webhooks

TOO_MANY = "Too many password-recovery requests; wait before asking again."
BAD_TOKEN = "is invalid, expired or already used; ask for a new reset link"
MAX_TOKEN_LENGTH = 200  # ours are 43 characters: anything far longer is not one
# A request answers this long after it began (PASSWORD_RECOVERY_ANSWER_SECONDS). A known
# email's work (storing the token) measured 0.5 ms slower in the median than an unknown
# one's (docs/performance.md); answering at a fixed moment past either leaves none to time.
ANSWER_AFTER_SECONDS = 0.25


def _bad_token() -> ValidationFailed:
    return ValidationFailed.one(("token",), BAD_TOKEN, "value_error")


class PasswordRecovery:
    def __init__(
        self,
        *,
        database: ScopedStore,
        hasher: PasswordHasher,
        throttle: RequestThrottle,
        ttl_seconds: int,
        answer_after_seconds: float = ANSWER_AFTER_SECONDS,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._throttle = throttle
        self._ttl_seconds = ttl_seconds
        self._answer_after = answer_after_seconds

    async def request(self, email: str, *, address: str | None = None) -> None:
        """Mail a reset link if `email` is an active account's, else a mail saying no account
        has it; either way, say nothing.

        Throttled per address and per account (RATE_LIMITED), counted before any lookup.
        Answers `answer_after_seconds` after it began, known email or not.
        """
        started = time.monotonic()
        cleaned = clean_email(email)  # a malformed address is a 422: it tells nothing
        await self._throttle.attempt(cleaned, address)
        await self._queue_mail(cleaned)
        await sleep(max(0.0, self._answer_after - (time.monotonic() - started)))

    async def _queue_mail(self, cleaned: str) -> None:
        token = new_opaque_token()
        expires_at = datetime.now(UTC) + timedelta(seconds=self._ttl_seconds)
        async with self._database.transaction() as uow:
            target = await uow.resets.issue(
                email=cleaned, token_hash=digest(token), expires_at=expires_at
            )
            if target is None:
                mail = messages.no_account(email=cleaned)
            else:
                mail = messages.password_reset(
                    user_id=target.user_id,
                    email=target.email,
                    name=target.name,
                    token=token,
                    expires_at=expires_at,
                    ttl_seconds=self._ttl_seconds,
                )
            await uow.mail.enqueue([mail])  # one mail either way: no counter tells them apart

    async def reset(self, token: str, new_password: str) -> None:
        """Set a new password with a reset token; every refresh token of the account dies."""
        check_password_rules(new_password, loc=("new_password",))
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise _bad_token()
        token_hash = digest(token)
        async with self._database.reader() as uow:
            valid = await uow.resets.is_valid(token_hash)
        if not valid:  # refused before hashing: a bad token costs no Argon2 work
            raise _bad_token()
        password_hash = await self._hasher.hash(new_password)
        async with self._database.transaction() as uow:
            user_id = await uow.resets.spend(token_hash)  # checked again, in the write
            if user_id is None:
                raise _bad_token()
            user = await uow.users.update(user_id, {"password_hash": password_hash})
            await uow.resets.spend_all(user_id)
            await uow.tokens.revoke_user_families(user_id)
            if user is not None:  # None: the account was deleted meanwhile
                await disable_webhooks(uow, user, cause=takeback.RESET)
