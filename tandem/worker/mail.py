"""The worker's mail loop: claim due mail from the outbox, send it, record what happened.

It shares the worker's wake-up (a NOTIFY on `tandem_jobs` with payload `mail`, sent
by the commit that queued it) and sleeps until the soonest retry falls due otherwise,
polling every `poll_seconds` anyway. Any number of workers share the outbox; each mail
is held by one at a time (tandem/persistence/mail/queue.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass

from tandem.domain.mail.delivery import MailAttempted, MailDelivery, MailVerdict
from tandem.domain.mail.records import ClaimedMail
from tandem.observability import metrics
from tandem.persistence.mail.queue import PgMailQueue

log = logging.getLogger("tandem.worker.mail")

NOT_SOONER = 0.02  # seconds: never spin when a due mail is momentarily out of reach


@dataclass(frozen=True, slots=True)
class MailPolicy:
    concurrency: int = 4
    lease_seconds: float = 60.0
    poll_seconds: float = 5.0
    grace_seconds: float = 16.0  # on stop, how long sends in flight may take to finish


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


class MailRunner:
    def __init__(self, *, queue: PgMailQueue, delivery: MailDelivery, policy: MailPolicy) -> None:
        self._queue = queue
        self._delivery = delivery
        self._policy = policy
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled; then let sends in flight finish (within the grace)."""
        try:
            await self._loop()
        finally:
            await self._drain()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, late = await asyncio.wait(self._in_flight, timeout=self._policy.grace_seconds)
        for task in late:  # their leases run out and another worker sends them
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self._claim_and_start()
            except Exception as error:  # the database is away: keep trying, never die
                log.warning("cannot claim mail (%s); retrying", error)
                wait = self._policy.poll_seconds
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    async def _claim_and_start(self) -> float:
        room = self._policy.concurrency - len(self._in_flight)
        if room <= 0:
            return self._policy.poll_seconds  # a finishing send wakes us
        claimed = await self._queue.claim(
            limit=room, lease_seconds=self._policy.lease_seconds, token=uuid.uuid4()
        )
        for mail in claimed:
            task = asyncio.create_task(self._send(mail))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        if len(claimed) == room:
            return 0.0
        due = await self._queue.seconds_to_next_due()
        if due is None:
            return self._policy.poll_seconds
        return min(self._policy.poll_seconds, max(due, NOT_SOONER))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _send(self, mail: ClaimedMail) -> None:
        started = time.perf_counter()
        try:
            report(await self._delivery.deliver(mail), time.perf_counter() - started)
        except Exception:  # recorded nowhere else: the lease runs out and it is tried again
            log.exception("mail %d failed inside Tandem", mail.mail_id)
