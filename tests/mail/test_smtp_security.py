"""SMTP_TLS and SMTP AUTH against a real server: STARTTLS, implicit TLS, credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from tandem.config import Settings
from tandem.domain.services import Services
from tests.mail.certificates import make_certificates
from tests.mail.helpers import outbox, register, settled
from tests.mail.smtp import SmtpServer
from tests.webhooks.helpers import worker_running

USER, SECRET = "tandem", "s3cret-smtp-passw0rd"
# aiosmtpd's own caution, for the test servers that take AUTH on a plain or TLS-wrapped line.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Authenticator:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any):
        assert isinstance(auth, LoginPassword)
        self.seen.append((mechanism, auth.login.decode()))
        ok = auth.login.decode() == USER and auth.password.decode() == SECRET
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def trusted_ca(tmp_path, monkeypatch):
    """The server's TLS context, its CA trusted by the client (OpenSSL's SSL_CERT_FILE)."""
    ca_file, context = make_certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    return context


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_mail_goes_over_tls_with_authentication(
    client: httpx.AsyncClient,
    services: Services,
    mail_settings: Callable[..., Settings],
    trusted_ca,
    mode: str,
) -> None:
    authenticator = Authenticator()
    tls = {"tls_context": trusted_ca, "require_starttls": True}
    if mode == "tls":  # the whole connection is TLS, which aiosmtpd's AUTH check cannot see
        tls = {"ssl_context": trusted_ca, "auth_require_tls": False}
    server = SmtpServer(authenticator=authenticator, auth_required=True, **tls).start()
    try:
        settings = mail_settings(
            server.port, smtp_tls=mode, smtp_user=USER, smtp_password=SecretStr(SECRET)
        )
        async with worker_running(settings):
            await register(client, f"{mode}@example.com")
            [mail] = await server.wait_for(f"{mode}@example.com")
    finally:
        server.stop()
    assert mail.message["Subject"] == "Welcome to Tandem"
    assert authenticator.seen and authenticator.seen[-1][1] == USER


async def test_starttls_is_required_not_opportunistic(
    client: httpx.AsyncClient, services: Services, mail_settings: Callable[..., Settings]
) -> None:
    plain = SmtpServer().start()  # offers no STARTTLS
    try:
        async with worker_running(mail_settings(plain.port, smtp_tls="starttls")):
            await register(client, "plain@example.com")
            async with asyncio.timeout(10):
                while True:
                    rows = await outbox(services)
                    if rows and rows[0]["last_error"]:
                        break
                    await asyncio.sleep(0.05)
    finally:
        plain.stop()
    assert plain.received == []  # never sent in the clear
    assert rows[0]["status"] == "pending"
    assert "starttls" in rows[0]["last_error"].lower(), rows[0]["last_error"]


async def test_wrong_credentials_are_retried_and_never_logged(
    client: httpx.AsyncClient,
    services: Services,
    mail_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = SmtpServer(
        authenticator=Authenticator(), auth_required=True, auth_require_tls=False
    ).start()
    wrong = "not-the-right-password"
    try:
        settings = mail_settings(
            server.port,
            smtp_user=USER,
            smtp_password=SecretStr(wrong),
            mail_retry_schedule="0.1,0.1",
        )
        async with worker_running(settings):
            await register(client, "locked@example.com")
            [row] = await settled(services, 1)
    finally:
        server.stop()
    assert row["status"] == "failed" and row["attempts"] == 3
    assert "refused SMTP_USER's credentials (535)" in row["last_error"]
    assert server.received == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused SMTP_USER's credentials" in logged
    assert wrong not in logged and wrong not in row["last_error"]


@pytest.mark.parametrize("spelt", ["true", "false"])
async def test_smtp_tls_as_a_boolean_means_starttls_or_none(
    client: httpx.AsyncClient,
    services: Services,
    mail_settings: Callable[..., Settings],
    trusted_ca,
    monkeypatch: pytest.MonkeyPatch,
    spelt: str,
) -> None:
    """`SMTP_TLS=true|false`, as the FastAPI template writes it: STARTTLS (required), or none."""
    monkeypatch.setenv("SMTP_TLS", spelt)
    mode = Settings().smtp_tls  # read from the environment, as `tandem worker` reads it
    assert mode == {"true": "starttls", "false": "none"}[spelt]
    tls = {"tls_context": trusted_ca, "require_starttls": True} if spelt == "true" else {}
    server = SmtpServer(**tls).start()
    try:
        async with worker_running(mail_settings(server.port, smtp_tls=mode)):
            await register(client, f"boolean-{spelt}@example.com")
            [mail] = await server.wait_for(f"boolean-{spelt}@example.com")
    finally:
        server.stop()
    assert mail.message["Subject"] == "Welcome to Tandem"
