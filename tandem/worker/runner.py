"""The worker: deliver webhooks and send mail (each on the leased-queue loop,
tandem/worker/leased.py), purge what is old, and LISTEN for work.

A NOTIFY on `tandem_jobs` wakes the loop its payload names (`webhooks`, `mail`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tandem.domain.idempotency.service import purge_keys
from tandem.domain.mail.records import ClaimedMail
from tandem.domain.requests.service import purge_request_log
from tandem.domain.webhooks.delivery import Attempted, Deliverer, Verdict
from tandem.domain.webhooks.records import ClaimedDelivery
from tandem.observability import metrics
from tandem.persistence.database import Database
from tandem.persistence.events.channels import JOBS_CHANNEL, MAIL_JOBS
from tandem.persistence.events.listener import Listener
from tandem.persistence.events.repository import EventRepository
from tandem.persistence.mail.queue import PgMailQueue
from tandem.persistence.webhooks.queue import PgDeliveryQueue
from tandem.worker.leased import LeasedRunner, LeasePolicy

log = logging.getLogger("tandem.worker")

PURGE_BATCH = 5_000
LAG_EVERY_SECONDS = 1.0


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
    """The worker's loops: deliveries and mail on the leased-queue loop, purges, LISTEN."""

    def __init__(
        self,
        *,
        url: str,
        database: Database,
        queue: PgDeliveryQueue,
        deliverer: Deliverer,
        policy: WorkerPolicy,
        mail: LeasedRunner[ClaimedMail] | None = None,
    ) -> None:
        self.mail = mail
        self._database = database
        self._queue = queue
        self._deliverer = deliverer
        self._policy = policy
        self._measured = 0.0
        self.deliveries = LeasedRunner(
            name="webhooks",
            queue=queue,
            handle=self._deliver,
            describe=lambda delivery: f"delivery {delivery.delivery_id}",
            policy=LeasePolicy(
                concurrency=policy.concurrency,
                lease_seconds=policy.lease_seconds,
                poll_seconds=policy.poll_seconds,
                grace_seconds=policy.grace_seconds,
            ),
            before_claim=self._measure_lag,
        )
        self.listener = Listener(url, [JOBS_CHANNEL], self._notified, on_reconnect=self.wake)

    def wake(self) -> None:
        self.deliveries.wake()
        if self.mail is not None:
            self.mail.wake()

    def _notified(self, channel: str, payload: str) -> None:
        if payload == MAIL_JOBS and self.mail is not None:
            self.mail.wake()
        else:
            self.deliveries.wake()

    async def run(self) -> None:
        """Work until cancelled; then let deliveries in flight finish (within the grace)."""
        loops = [
            asyncio.create_task(self.listener.run(), name="tandem-listen"),
            asyncio.create_task(self._purges(), name="tandem-purge"),
        ]
        if self.mail is not None:
            loops.append(asyncio.create_task(self.mail.run(), name="tandem-mail"))
        try:
            await self.deliveries.run()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _measure_lag(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._measured >= LAG_EVERY_SECONDS:
            metrics.OUTBOX_LAG.set(await self._queue.lag_seconds())
            self._measured = now

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        count(await self._deliverer.deliver(delivery))

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
                lines = await purge_request_log(self._database)  # the request log: 7 days
                if lines:
                    log.info("purged %d request log lines older than 7 days", lines)
            except Exception as error:
                log.warning("cannot purge events (%s); will try again", error)
            await asyncio.sleep(self._policy.purge_every_seconds)
