"""What the mail use cases need: an outbox in the unit of work, a queue and a mailer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from tandem.domain.mail.records import ClaimedMail, MailRequest


class MailOutbox(Protocol):
    async def enqueue(self, mails: Sequence[MailRequest]) -> None:
        """Queue `mails` in this unit of work's transaction; workers are woken on commit.

        An empty sequence runs the same statement and queues nothing (password recovery
        relies on that: known and unknown addresses cost the same statements).
        """
        ...


class MailQueue(Protocol):
    """The workers' side of the outbox; each call is its own short transaction."""

    async def claim(
        self, *, limit: int, lease_seconds: float, token: uuid.UUID
    ) -> list[ClaimedMail]: ...

    async def sent(self, mail: ClaimedMail) -> bool: ...

    async def retry(self, mail: ClaimedMail, *, error: str, retry_in: float) -> bool: ...

    async def failed(self, mail: ClaimedMail, *, error: str) -> bool: ...

    async def seconds_to_next_due(self) -> float | None: ...


class MailNotSent(Exception):
    """A send that failed; `message` is one line for the log and the outbox, with no secret.

    `permanent`: the server refused the message itself (a 5xx reply); trying again is futile.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, mail: ClaimedMail) -> None:
        """Compose and hand the mail over (SMTP, or a file); MailNotSent when it could not."""
        ...
