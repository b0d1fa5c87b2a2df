"""The worker's mail: the outbox worked by the leased-queue loop (tandem/worker/leased.py).

A NOTIFY on `tandem_jobs` with payload `mail`, sent after the commit that queued it,
wakes the loop. Each mail is held by one worker at a time (tandem/persistence/mail/queue.py).
"""

from __future__ import annotations

import logging
import time

from tandem.domain.mail.delivery import MailAttempted, MailDelivery, MailVerdict
from tandem.domain.mail.records import ClaimedMail
from tandem.observability import metrics
from tandem.persistence.mail.queue import PgMailQueue
from tandem.worker.leased import LeasedRunner, LeasePolicy

log = logging.getLogger("tandem.worker.mail")


def report(attempted: MailAttempted, seconds: float) -> None:
    """Count the attempt, and say in one line (no address, no secret) what went wrong."""
    metrics.MAIL_DELIVERIES.labels(attempted.verdict.value).inc()
    metrics.MAIL_SEND_DURATION.observe(seconds)
    mail = attempted.mail
    if attempted.verdict is MailVerdict.RETRYING:
        log.warning(
            "mail %d (%s) not sent, attempt %d; retrying in %.3gs: %s",
            mail.mail_id,
            mail.kind.value,
            mail.attempt,
            attempted.retry_in or 0,
            attempted.error,
        )
    elif attempted.verdict is not MailVerdict.SENT:
        log.error(
            "mail %d (%s) given up after %d attempts: %s",
            mail.mail_id,
            mail.kind.value,
            mail.attempt,
            attempted.error,
        )


def mail_runner(
    *, queue: PgMailQueue, delivery: MailDelivery, policy: LeasePolicy
) -> LeasedRunner[ClaimedMail]:
    """The mail loop: each claimed mail is sent (or dropped, or retried) and reported."""

    async def send(mail: ClaimedMail) -> None:
        started = time.perf_counter()
        report(await delivery.deliver(mail), time.perf_counter() - started)

    return LeasedRunner(
        name="mail",
        queue=queue,
        handle=send,
        describe=lambda mail: f"mail {mail.mail_id}",
        policy=policy,
    )
