"""Handing a composed mail over: to an SMTP server (aiosmtplib), or to a `.eml` file.

Either way a failure is `MailNotSent` with one line that names no secret: the worker
logs it, stores it on the outbox row and retries (domain/mail/delivery.py).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import jinja2

from tandem.domain.mail.ports import MailNotSent
from tandem.domain.mail.records import ClaimedMail
from tandem.outbound.mail.compose import Composer

ERROR_LIMIT = 300


def _line(text: str) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= ERROR_LIMIT else one[:ERROR_LIMIT] + "…"


def composed(composer: Composer, mail: ClaimedMail) -> EmailMessage:
    try:
        return composer.compose(mail)
    except (jinja2.TemplateError, KeyError) as error:
        raise MailNotSent(
            f"cannot compose the {mail.kind.value} mail: {_line(repr(error))}"
        ) from None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    tls: str  # starttls | tls | none
    username: str | None
    password: str | None
    timeout_seconds: float


class SmtpMailer:
    """One SMTP conversation per mail: simple, and nothing stale to keep alive between jobs."""

    def __init__(self, composer: Composer, smtp: SmtpSettings) -> None:
        self._composer = composer
        self._smtp = smtp
        # What EHLO names: looked up once, not (as aiosmtplib would) once per mail.
        self._local_hostname = socket.getfqdn() or "localhost"

    async def send(self, mail: ClaimedMail) -> None:
        message = composed(self._composer, mail)
        smtp = self._smtp
        where = f"{smtp.host}:{smtp.port}"
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                use_tls=smtp.tls == "tls",
                start_tls=smtp.tls == "starttls",
                timeout=smtp.timeout_seconds,
                local_hostname=self._local_hostname,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            permanent = all(refused.code >= 500 for refused in error.recipients)
            codes = ",".join(str(refused.code) for refused in error.recipients)
            raise MailNotSent(
                f"{where} refused the recipient ({codes})", permanent=permanent
            ) from None
        except aiosmtplib.SMTPAuthenticationError as error:
            raise MailNotSent(f"{where} refused SMTP_USER's credentials ({error.code})") from None
        except aiosmtplib.SMTPResponseException as error:
            permanent = error.code >= 500 and isinstance(error, aiosmtplib.SMTPDataError)
            raise MailNotSent(
                f"{where} answered {error.code}: {_line(error.message)}", permanent=permanent
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            reason = _line(str(error)) or type(error).__name__
            raise MailNotSent(f"cannot send through {where}: {reason}") from None


class FileMailer:
    """Development: each mail becomes `<dir>/<time>-<id>-<kind>.eml`, readable by any mail app.

    Written to a temporary name and renamed, so a reader never sees half a file; only the
    owner may read it (a reset mail holds a live token).
    """

    def __init__(self, composer: Composer, directory: Path) -> None:
        self._composer = composer
        self.directory = directory

    async def send(self, mail: ClaimedMail) -> None:
        message = composed(self._composer, mail)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.directory / f"{stamp}-{mail.mail_id:06d}-{mail.kind.value}.eml"
        try:
            await asyncio.to_thread(self._write, path, message.as_bytes())
        except OSError as error:
            raise MailNotSent(f"cannot write {path}: {error.strerror or error}") from None

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_suffix(".eml.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(partial, path)
