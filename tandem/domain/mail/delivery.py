"""Sending one claimed mail: it goes, it waits for another try, or it is given up.

Mail is at least once, like every outbox: a worker that dies after the SMTP server
took the message but before it recorded so sends it again when the lease runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tandem.domain.mail.ports import Mailer, MailNotSent, MailQueue
from tandem.domain.mail.records import ClaimedMail
from tandem.domain.webhooks.schedule import RetrySchedule

EXPIRED = "not sent in time: the link it carries has expired"


class MailVerdict(StrEnum):
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"  # the retries are spent, or the server refused it for good
    EXPIRED = "expired"  # its link expired before it could go


@dataclass(frozen=True, slots=True)
class MailAttempted:
    mail: ClaimedMail
    verdict: MailVerdict
    error: str | None = None
    retry_in: float | None = None
    held: bool = True  # False: the lease ran out meanwhile; another worker decides


class MailDelivery:
    def __init__(self, *, queue: MailQueue, mailer: Mailer, schedule: RetrySchedule) -> None:
        self._queue = queue
        self._mailer = mailer
        self._schedule = schedule

    async def deliver(self, mail: ClaimedMail) -> MailAttempted:
        if mail.expired:
            held = await self._queue.failed(mail, error=EXPIRED)
            return MailAttempted(mail, MailVerdict.EXPIRED, EXPIRED, held=held)
        try:
            await self._mailer.send(mail)
        except MailNotSent as error:
            retry_in = None if error.permanent else self._schedule.delay_after(mail.attempt)
            if retry_in is None:
                held = await self._queue.failed(mail, error=error.message)
                return MailAttempted(mail, MailVerdict.FAILED, error.message, held=held)
            held = await self._queue.retry(mail, error=error.message, retry_in=retry_in)
            return MailAttempted(mail, MailVerdict.RETRYING, error.message, retry_in, held=held)
        held = await self._queue.sent(mail)
        return MailAttempted(mail, MailVerdict.SENT, held=held)
