"""The mails the use cases send, as requests: which templates, to whom, with what.

Links are built by the composer from PUBLIC_URL (tandem/outbound/mail): the domain
only hands over what is particular to this mail.
"""

from __future__ import annotations

from datetime import datetime

from tandem.domain.mail.records import MailKind, MailRequest


def welcome(*, user_id: int, email: str, name: str) -> MailRequest:
    """Sent on registration: no password, no token, just the way in."""
    return MailRequest(MailKind.WELCOME, email, {"name": name}, user_id=user_id)


def webhooks_disabled(
    *, user_id: int, email: str, name: str, why: str, urls: list[str]
) -> MailRequest:
    """Tell an owner which of their webhook endpoints Tandem turned off, and why."""
    return MailRequest(
        MailKind.WEBHOOKS_DISABLED,
        email,
        {"name": name, "why": why, "urls": "\n".join(urls)},
        user_id=user_id,
    )


def no_account(*, email: str) -> MailRequest:
    """Recovery for an address no active account has: a mail too, as for a known one, so
    no counter, queue or timing tells the two apart (issue 20, finding 3). No name, no
    link, nothing the asker chose but the address."""
    return MailRequest(MailKind.NO_ACCOUNT, email)


def password_reset(
    *, user_id: int, email: str, name: str, token: str, expires_at: datetime, ttl_seconds: int
) -> MailRequest:
    """The reset link's token is the one secret any mail carries; past its expiry it is
    not sent at all."""
    minutes = max(1, ttl_seconds // 60)
    return MailRequest(
        MailKind.PASSWORD_RESET,
        email,
        {"name": name, "token": token, "expires_in_minutes": str(minutes)},
        send_before=expires_at,
        user_id=user_id,
    )
