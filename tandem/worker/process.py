"""Compose a worker from settings, and run one until told to stop (`tandem worker`, `serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from tandem.config import Settings
from tandem.domain.mail.delivery import MailDelivery
from tandem.domain.mail.ports import Mailer
from tandem.domain.mail.records import ClaimedMail
from tandem.domain.webhooks.delivery import Deliverer
from tandem.domain.webhooks.schedule import RetrySchedule, parse_schedule
from tandem.domain.webhooks.sealing import SecretSeal
from tandem.http.versions.render import event_in
from tandem.outbound.mail.compose import Composer
from tandem.outbound.mail.transports import FileMailer, SmtpMailer, SmtpSettings
from tandem.outbound.webhooks import HttpWebhookSender
from tandem.persistence.database import Database
from tandem.persistence.mail.queue import PgMailQueue
from tandem.persistence.webhooks.queue import PgDeliveryQueue
from tandem.worker.leased import LeasedRunner, LeasePolicy
from tandem.worker.mail import mail_runner
from tandem.worker.runner import Worker, WorkerPolicy

log = logging.getLogger("tandem.worker")


def retry_schedule(settings: Settings) -> RetrySchedule:
    if settings.webhook_retry_schedule:
        return parse_schedule(settings.webhook_retry_schedule)
    return RetrySchedule.default()


def mail_schedule(settings: Settings) -> RetrySchedule:
    if settings.mail_retry_schedule:
        return parse_schedule(settings.mail_retry_schedule)
    return RetrySchedule.default()


def mailer_for(settings: Settings) -> Mailer:
    """SMTP when SMTP_HOST is set; otherwise .eml files under DATA_DIR/mail (development)."""
    composer = Composer(public_url=settings.public_url, sender=settings.mail_sender)
    if settings.smtp_host is None:
        return FileMailer(composer, settings.mail_dir.resolve())
    password = settings.smtp_password
    return SmtpMailer(
        composer,
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port_or_default,
            tls=settings.smtp_tls,
            username=settings.smtp_user,
            password=None if password is None else password.get_secret_value(),
            timeout_seconds=settings.smtp_timeout_seconds,
        ),
    )


def mail_loop(settings: Settings, database: Database) -> LeasedRunner[ClaimedMail]:
    queue = PgMailQueue(database)
    mailer = mailer_for(settings)
    if isinstance(mailer, FileMailer):
        log.log(
            logging.WARNING if not settings.is_development else logging.INFO,
            "SMTP_HOST is not set: mail is written as .eml files under %s",
            mailer.directory,
        )
    return mail_runner(
        queue=queue,
        delivery=MailDelivery(queue=queue, mailer=mailer, schedule=mail_schedule(settings)),
        policy=LeasePolicy(
            concurrency=settings.mail_concurrency,
            lease_seconds=settings.mail_lease_seconds,
            poll_seconds=settings.worker_poll_seconds,
            grace_seconds=settings.smtp_timeout_seconds + 1,
        ),
    )


def worker_policy(settings: Settings) -> WorkerPolicy:
    return WorkerPolicy(
        concurrency=settings.webhook_concurrency,
        lease_seconds=settings.webhook_lease_seconds,
        poll_seconds=settings.worker_poll_seconds,
        retention_days=settings.event_retention_days,
        grace_seconds=settings.webhook_timeout_seconds + 1,
    )


@contextlib.asynccontextmanager
async def worker_for(settings: Settings, url: str) -> AsyncIterator[Worker]:
    """A worker with its own pool and HTTP client, closed when the block ends."""
    # Room for overlapping finishes, webhooks' and mail's; `url` is the settings' own, or a test's.
    database = Database.from_settings(
        settings.model_copy(update={"database_url": url}),
        pool_size=max(4, settings.webhook_concurrency // 2) + 2,
    )
    sender = HttpWebhookSender(
        allow_private=settings.allow_private_webhook_urls,
        timeout_seconds=settings.webhook_timeout_seconds,
    )
    queue = PgDeliveryQueue(database, endpoint_concurrency=settings.webhook_endpoint_concurrency)
    deliverer = Deliverer(
        queue=queue,
        sender=sender,
        schedule=retry_schedule(settings),
        seal=SecretSeal(settings.verification_keys()),
        shape=event_in,  # each endpoint's pinned API version
    )
    try:
        yield Worker(
            url=url,
            database=database,
            queue=queue,
            deliverer=deliverer,
            policy=worker_policy(settings),
            mail=mail_loop(settings, database),
        )
    finally:
        await sender.aclose()
        await database.dispose()


async def run_worker(settings: Settings, url: str) -> None:
    """Run until SIGTERM or SIGINT; deliveries in flight get the grace period to finish."""
    loop = asyncio.get_running_loop()
    async with worker_for(settings, url) as worker:
        task = asyncio.create_task(worker.run())
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        log.info("tandem worker: delivering webhooks, sending mail and purging old events")
        with contextlib.suppress(asyncio.CancelledError):
            await task
