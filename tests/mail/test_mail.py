"""Welcome and reset mail through the outbox, a real worker and a real SMTP server."""

from __future__ import annotations

import asyncio
import time
from email import policy
from email.parser import BytesParser

import httpx
import pytest
from prometheus_client import REGISTRY

from tandem.domain.services import Services
from tests.factories import PASSWORD, login
from tests.mail.conftest import PUBLIC_URL, workers
from tests.mail.helpers import outbox, register, reset_token, settled
from tests.mail.smtp import SmtpServer, free_port
from tests.webhooks.helpers import worker_running

NEW_PASSWORD = "a brand new passphrase"


async def test_the_welcome_mail_arrives_in_text_and_html(
    client: httpx.AsyncClient, services: Services, mail_worker: SmtpServer
) -> None:
    await register(client, "ada@example.com", name="Ada <b>Lovelace</b>")

    [mail] = await mail_worker.wait_for("ada@example.com")

    message = mail.message
    assert message["Subject"] == "Welcome to Tandem"
    assert message["From"] == "Tandem <no-reply@tandem.example.test>"
    assert message["To"] == "ada@example.com"
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert "Hello Ada <b>Lovelace</b>," in mail.text
    assert PUBLIC_URL in mail.text
    assert f'href="{PUBLIC_URL}"' in mail.html
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in mail.html  # autoescaped: a name is text
    assert "<b>Lovelace</b>" not in mail.html
    assert PASSWORD not in message.as_string()
    # Sent: the outbox forgets what filled the templates.
    [row] = await settled(services, 1)
    assert row["status"] == "sent" and row["params"] == "{}"


async def test_a_reset_link_works_once_and_ends_every_session(
    client: httpx.AsyncClient, services: Services, mail_worker: SmtpServer
) -> None:
    await register(client, "grace@example.com", name="Grace")
    old = await login(client, "grace@example.com")
    await mail_worker.wait_for("grace@example.com")

    response = await client.post(
        "/api/v1/auth/password-recovery", json={"email": "  GRACE@example.com "}
    )
    assert response.status_code == 202, response.text

    mails = await mail_worker.wait_for("grace@example.com", count=2)
    reset = mails[-1]
    assert reset.message["Subject"] == "Reset your Tandem password"
    link, token = reset_token(reset.text)
    assert link == f"{PUBLIC_URL}/reset-password?token={token}"
    assert f'href="{link}"' in reset.html
    assert PASSWORD not in reset.message.as_string()

    done = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    assert done.content == b""

    again = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "yet another one"}
    )
    assert again.status_code == 422
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert problem["errors"][0]["loc"] == ["body", "token"]

    # The refresh token from before the reset is dead, and so is its access token.
    refreshed = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {old['access_token']}"}
    )
    assert me.status_code == 401
    # The new password signs in; the old one does not.
    await login(client, "grace@example.com", NEW_PASSWORD)
    wrong = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "grace@example.com", "password": PASSWORD},
    )
    assert wrong.status_code == 400
    # Sent mail keeps no token.
    rows = await settled(services, 2)
    assert all(token not in row["params"] for row in rows)


def sent_mails() -> float:
    """tandem_mail_deliveries_total{outcome="sent"}, as /metrics would show it."""
    return REGISTRY.get_sample_value("tandem_mail_deliveries_total", {"outcome": "sent"}) or 0.0


async def sent_since(before: float) -> float:
    """How many more mails were counted sent (the worker counts once SMTP has said yes)."""
    async with asyncio.timeout(30):
        while sent_mails() == before:  # noqa: ASYNC110 (a counter, not an event, changes)
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # and no second count follows
    return sent_mails() - before


async def test_an_unknown_email_gets_the_same_answer_and_a_mail_saying_no_account_has_it(
    client: httpx.AsyncClient, services: Services, mail_worker: SmtpServer
) -> None:
    # Finding 3: tandem_mail_deliveries_total{outcome="sent"} rose for a known email's
    # recovery and not for an unknown one's, telling anyone which emails have accounts.
    welcomed = sent_mails()
    await register(client, "known@example.com")
    await mail_worker.wait_for("known@example.com")
    assert await sent_since(welcomed) == 1.0  # the welcome mail, counted before we start
    counted = []

    before = sent_mails()
    unknown = await client.post(
        "/api/v1/auth/password-recovery", json={"email": "nobody@example.com"}
    )
    [notice] = await mail_worker.wait_for("nobody@example.com")
    counted.append(await sent_since(before))

    before = sent_mails()
    known = await client.post("/api/v1/auth/password-recovery", json={"email": "known@example.com"})
    await mail_worker.wait_for("known@example.com", count=2)
    counted.append(await sent_since(before))

    assert unknown.status_code == known.status_code == 202
    assert unknown.content == known.content
    assert unknown.headers["content-type"] == known.headers["content-type"]
    assert counted == [1.0, 1.0]  # the counter moves alike
    assert notice.message["Subject"] == "Reset your Tandem password"
    assert "no active Tandem account uses it" in notice.text
    assert "reset-password" not in notice.text and "token" not in notice.text
    assert [row["recipient"] for row in await outbox(services)] == [
        "known@example.com",
        "nobody@example.com",
        "known@example.com",
    ]


async def test_a_deactivated_account_gets_no_reset_link(
    client: httpx.AsyncClient, services: Services
) -> None:
    await register(client, "gone@example.com")
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute("UPDATE users SET is_active = false")

    response = await client.post(
        "/api/v1/auth/password-recovery", json={"email": "gone@example.com"}
    )

    assert response.status_code == 202
    assert [row["kind"] for row in await outbox(services)] == ["welcome", "no_account"]


async def test_registration_succeeds_while_smtp_is_down_and_the_mail_follows(
    client: httpx.AsyncClient, services: Services, mail_settings
) -> None:
    port = free_port()  # nothing listens there yet
    async with worker_running(mail_settings(port)):
        started = time.perf_counter()
        await register(client, "patient@example.com")
        assert time.perf_counter() - started < 5  # generous: the send is not in the request

        async with asyncio.timeout(10):  # the worker tried, failed, and will try again
            while True:
                rows = await outbox(services)
                if rows and rows[0]["last_error"] is not None:
                    break
                await asyncio.sleep(0.05)
        assert rows[0]["status"] == "pending"
        assert f"127.0.0.1:{port}" in rows[0]["last_error"]

        server = SmtpServer(port).start()
        try:
            [mail] = await server.wait_for("patient@example.com")
            assert mail.message["Subject"] == "Welcome to Tandem"
            [row] = await settled(services, 1)
            assert row["status"] == "sent"
        finally:
            server.stop()


async def test_a_mail_is_given_up_after_its_retries(
    client: httpx.AsyncClient, services: Services, mail_settings
) -> None:
    settings = mail_settings(free_port(), mail_retry_schedule="0.1,0.1")
    async with worker_running(settings):
        await register(client, "never@example.com")
        [row] = await settled(services, 1)
    assert row["status"] == "failed"
    assert row["attempts"] == 3
    assert row["params"] == "{}"
    assert "cannot send through 127.0.0.1" in row["last_error"]


async def test_a_refused_recipient_is_not_retried(
    client: httpx.AsyncClient, services: Services, mail_worker: SmtpServer
) -> None:
    await register(client, "bounce@example.com")
    [row] = await settled(services, 1)
    assert row["status"] == "failed"
    assert row["attempts"] == 1
    assert "refused the recipient (550)" in row["last_error"]


async def test_two_workers_send_each_mail_exactly_once(
    client: httpx.AsyncClient, services: Services, smtp: SmtpServer, mail_settings
) -> None:
    settings = mail_settings(smtp.port, mail_concurrency=2)
    async with workers(settings, settings):
        emails = [f"twice{n}@example.com" for n in range(24)]
        await asyncio.gather(*(register(client, email) for email in emails))
        await settled(services, len(emails), within=30)
        await asyncio.sleep(0.3)

    assert sorted(r for mail in smtp.received for r in mail.recipients) == sorted(emails)
    assert all(row["attempts"] == 1 for row in await outbox(services))


async def test_without_smtp_host_mail_is_written_as_an_eml_file(
    client: httpx.AsyncClient, services: Services, mail_settings, tmp_path
) -> None:
    async with worker_running(mail_settings(None, data_dir=tmp_path)):
        await register(client, "files@example.com", name="Filed")
        await settled(services, 1)

    [path] = list((tmp_path / "mail").glob("*.eml"))
    assert path.name.endswith("-welcome.eml")
    assert path.stat().st_mode & 0o077 == 0  # the owner's alone
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert message["To"] == "files@example.com"
    assert message["Subject"] == "Welcome to Tandem"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and "Hello Filed," in plain.get_content()
    assert not list((tmp_path / "mail").glob("*.partial"))


async def test_mail_outcomes_are_counted_in_metrics(
    client: httpx.AsyncClient, services: Services, mail_worker: SmtpServer
) -> None:
    def sent_count(text: str) -> float:
        for line in text.splitlines():
            if line.startswith('tandem_mail_deliveries_total{outcome="sent"}'):
                return float(line.split()[-1])
        return 0.0

    before = sent_count((await client.get("/metrics")).text)
    await register(client, "counted@example.com")
    await settled(services, 1)
    after = sent_count((await client.get("/metrics")).text)
    assert after == before + 1


@pytest.mark.parametrize("name", ["Plain Ascii", "Zoë Ünïcode"])
async def test_the_reset_link_can_be_copied_from_the_raw_eml_file(
    client: httpx.AsyncClient, services: Services, mail_settings, tmp_path, name: str
) -> None:
    """As a person reads an `.eml` in a text editor: the link whole, on one line, working.

    The text part is 7bit or 8bit (UTF-8 as written), never quoted-printable (`=3D` for
    `=`, soft line breaks) nor base64.
    """
    email = "raw." + ("ascii" if name.isascii() else "utf8") + "@example.com"
    async with worker_running(mail_settings(None, data_dir=tmp_path)):
        await register(client, email, name=name)
        recovery = await client.post("/api/v1/auth/password-recovery", json={"email": email})
        assert recovery.status_code == 202, recovery.text
        await settled(services, 2)

    [path] = list((tmp_path / "mail").glob("*-password_reset.eml"))
    raw = path.read_bytes().decode("utf-8")
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    assert plain["Content-Transfer-Encoding"] in ("7bit", "8bit")
    assert f"Hello {name}," in raw  # readable as written
    # The text part's line that is the link alone (the HTML part has it inside an href).
    [link] = [
        line.strip()
        for line in raw.splitlines()
        if line.strip().startswith(PUBLIC_URL + "/reset-password?token=")
    ]
    token = link.partition("?token=")[2]
    reset = await client.post(
        "/api/v1/auth/reset-password",
        json={"token": token, "new_password": "copied from the raw file"},
    )
    assert reset.status_code == 204, reset.text
