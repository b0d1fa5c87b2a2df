"""The worker's loops: deliver webhooks, send mail (worker/mail.py), purge what is old.

A worker sleeps until the soonest delivery falls due, a NOTIFY on
`tandem_jobs` wakes it at once, and it polls every `poll_seconds` anyway (a
missed notification, a lost LISTEN connection, a lease that ran out). Any number
of workers share the queue (see tandem/persistence/webhooks/queue.py); each
runs up to `concurrency` deliveries at once, claiming only as many as it has room for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tandem.domain.idempotency.service import purge_keys
from tandem.domain.webhooks.delivery import Attempted, Deliverer, Verdict
from tandem.domain.webhooks.records import ClaimedDelivery
from tandem.observability import metrics
from tandem.persistence.database import Database
from tandem.persistence.events.channels import JOBS_CHANNEL, MAIL_JOBS
from tandem.persistence.events.listener import Listener
from tandem.persistence.events.repository import EventRepository
from tandem.persistence.mail.queue import PgMailQueue
from tandem.persistence.webhooks.queue import PgDeliveryQueue
from tandem.worker.mail import MailRunner

log = logging.getLogger("tandem.worker")

PURGE_BATCH = 5_000
LAG_EVERY_SECONDS = 1.0
NOT_SOONER = 0.02  # seconds: never spin when a due delivery is momentarily out of reach


@dataclass(frozen=True, slots=True)
class WorkerPolicy:
    concurrency: int = 16
    lease_seconds: float = 60.0
    poll_seconds: float = 5.0
    retention_days: int = 30
    purge_every_seconds: float = 3600.0
    grace_seconds: float = 20.0  # on stop, how long deliveries in flight may take to finish


def attempt_outcome(attempted: Attempted) -> str:
    """A bounded label for what one attempt got."""
    outcome = attempted.outcome
    if outcome.succeeded:
        return "success"
    if outcome.error is not None and outcome.error.startswith("refused"):
        return "refused"
    return "no_answer" if outcome.status_code is None else "http_error"


def count(attempted: Attempted) -> None:
    metrics.WEBHOOK_ATTEMPTS.labels(attempt_outcome(attempted)).inc()
    metrics.WEBHOOK_DELIVERY_DURATION.observe(attempted.outcome.duration_ms / 1000)
    if attempted.verdict is not Verdict.RETRYING:
        metrics.WEBHOOK_DELIVERIES.labels(attempted.verdict.value).inc()
        metrics.WEBHOOK_ATTEMPTS_PER_DELIVERY.observe(attempted.attempt)
    if attempted.verdict is Verdict.FAILED:
        log.warning(
            "a webhook delivery failed after %d attempts, so its endpoint is disabled (last: %s)",
            attempted.attempt,
            attempted.outcome.error or f"HTTP {attempted.outcome.status_code}",
        )


class Worker:
    def __init__(
        self,
        *,
        url: str,
        database: Database,
        queue: PgDeliveryQueue,
        deliverer: Deliverer,
        policy: WorkerPolicy,
        mail: MailRunner | None = None,
    ) -> None:
        self.mail = mail
        self._url = url
        self._database = database
        self._queue = queue
        self._deliverer = deliverer
        self._policy = policy
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self.listener = Listener(url, [JOBS_CHANNEL], self._notified, on_reconnect=self.wake)

    def wake(self) -> None:
        self._wake.set()
        if self.mail is not None:
            self.mail.wake()

    def _notified(self, channel: str, payload: str) -> None:
        if payload == MAIL_JOBS and self.mail is not None:
            self.mail.wake()
        else:
            self._wake.set()

    async def run(self) -> None:
        """Work until cancelled; then let deliveries in flight finish (within the grace)."""
        loops = [
            asyncio.create_task(self.listener.run(), name="tandem-listen"),
            asyncio.create_task(self._purges(), name="tandem-purge"),
        ]
        if self.mail is not None:
            loops.append(asyncio.create_task(self.mail.run(), name="tandem-mail"))
        try:
            await self._deliveries()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self._drain()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, late = await asyncio.wait(self._in_flight, timeout=self._policy.grace_seconds)
        for task in late:  # their leases run out and another worker sends them again
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _deliveries(self) -> None:
        measured = 0.0
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                if loop.time() - measured >= LAG_EVERY_SECONDS:
                    metrics.OUTBOX_LAG.set(await self._queue.lag_seconds())
                    measured = loop.time()
                wait = await self._claim_and_start()
            except Exception as error:  # the database is away: keep trying, never die
                log.warning("cannot claim deliveries (%s); retrying", error)
                wait = self._policy.poll_seconds
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    async def _claim_and_start(self) -> float:
        """Claim what there is room for; how long to wait before looking again (0: now)."""
        room = self._policy.concurrency - len(self._in_flight)
        if room <= 0:
            return self._policy.poll_seconds  # a finishing delivery wakes us
        claimed = await self._queue.claim(
            limit=room, lease_seconds=self._policy.lease_seconds, token=uuid.uuid4()
        )
        for delivery in claimed:
            task = asyncio.create_task(self._deliver(delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        if len(claimed) == room:
            return 0.0  # perhaps more are due
        due = await self._queue.seconds_to_next_due()
        if due is None:
            return self._policy.poll_seconds
        return min(self._policy.poll_seconds, max(due, NOT_SOONER))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        try:
            count(await self._deliverer.deliver(delivery))
        except Exception:  # recorded nowhere else: the lease runs out and it is tried again
            log.exception("delivery %s failed inside Tandem", delivery.delivery_id)

    async def purge_once(self) -> int:
        """Delete events past their retention (their deliveries go with them); how many."""
        cutoff = datetime.now(UTC) - timedelta(days=self._policy.retention_days)
        total = 0
        while True:
            async with self._database.transaction() as uow:
                gone = await EventRepository(uow.connection).purge(
                    older_than=cutoff, limit=PURGE_BATCH
                )
            total += gone
            if gone < PURGE_BATCH:
                return total

    async def purge_mail_once(self) -> int:
        """Forget mail sent or given up longer ago than the events' retention; how many."""
        cutoff = datetime.now(UTC) - timedelta(days=self._policy.retention_days)
        queue = PgMailQueue(self._database)
        total = 0
        while True:
            gone = await queue.purge(older_than=cutoff, limit=PURGE_BATCH)
            total += gone
            if gone < PURGE_BATCH:
                return total

    async def _purges(self) -> None:
        while True:
            try:
                gone = await self.purge_once()
                if gone:
                    log.info(
                        "purged %d events older than %d days", gone, self._policy.retention_days
                    )
                mails = await self.purge_mail_once()
                if mails:
                    log.info(
                        "purged %d mails sent over %d days ago",
                        mails,
                        self._policy.retention_days,
                    )
                keys = await purge_keys(self._database)  # Idempotency-Keys: kept 24 hours
                if keys:
                    log.info("purged %d idempotency keys older than a day", keys)
            except Exception as error:
                log.warning("cannot purge events (%s); will try again", error)
            await asyncio.sleep(self._policy.purge_every_seconds)
