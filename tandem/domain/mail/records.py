"""What a mail is to the use cases: a kind, a recipient and a few values, never a rendering.

The use cases queue a `MailRequest` in their own transaction; the worker claims it as
a `ClaimedMail`, has it composed (templates live in tandem/outbound/mail) and sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class MailKind(StrEnum):
    """Each kind is one pair of templates (text and HTML) and one subject."""

    WELCOME = "welcome"
    PASSWORD_RESET = "password_reset"
    WEBHOOKS_DISABLED = "webhooks_disabled"
    NO_ACCOUNT = "no_account"  # recovery asked for an address no active account has


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class MailRequest:
    """A mail to send. `params` fill the templates; `send_before`: not worth sending after.

    `params` hold no secret but a reset token, and the outbox forgets them once the
    mail is sent or given up (tandem/persistence/mail/outbox.py).
    """

    kind: MailKind
    to: str
    params: dict[str, str] = field(default_factory=dict)
    send_before: datetime | None = None
    user_id: int | None = None  # the account it is about: its mail goes when the account does


@dataclass(frozen=True, slots=True)
class ClaimedMail:
    """A mail one worker holds under a lease, on its `attempt`-th try."""

    mail_id: int
    lease_token: uuid.UUID
    attempt: int
    kind: MailKind
    to: str
    params: dict[str, str]
    expired: bool  # past `send_before`: dropped, not sent
    trace_context: str | None = None  # W3C traceparent of the request, when it was traced
