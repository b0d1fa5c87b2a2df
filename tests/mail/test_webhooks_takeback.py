"""Taking an account back ends its webhooks: a reset or a change disables them and says so."""

from __future__ import annotations

import httpx

from tandem.domain.services import Services
from tests.factories import PASSWORD, login
from tests.mail.helpers import register, reset_token
from tests.mail.smtp import SmtpServer

NEW_PASSWORD = "a brand new passphrase"
HOOKS = ["http://127.0.0.1:9/first", "http://127.0.0.1:9/second"]


def bearer(token: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def with_webhooks(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await register(client, email, name="Owner")
    headers = bearer(await login(client, email))
    for url in HOOKS:
        created = await client.post(
            "/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=headers
        )
        assert created.status_code == 201, created.text
    return headers


async def webhooks(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    response = await client.get("/api/v1/webhooks", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_password_reset_disables_the_webhooks_and_mails_the_owner(
    client: httpx.AsyncClient, services: Services, mail_worker: SmtpServer
) -> None:
    await with_webhooks(client, "taken@example.com")
    await mail_worker.wait_for("taken@example.com")  # the welcome mail
    await client.post("/api/v1/auth/password-recovery", json={"email": "taken@example.com"})
    _, token = reset_token((await mail_worker.wait_for("taken@example.com", count=2))[-1].text)

    done = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text

    headers = bearer(await login(client, "taken@example.com", NEW_PASSWORD))
    hooks = await webhooks(client, headers)
    assert [hook["active"] for hook in hooks] == [False, False]
    assert all(hook["disabled_reason"].startswith("disabled by a password reset") for hook in hooks)

    notice = (await mail_worker.wait_for("taken@example.com", count=3))[-1]
    assert notice.message["Subject"] == "Your Tandem webhooks were turned off"
    for url in HOOKS:
        assert url in notice.text and url in notice.html
    assert "password reset" in notice.text

    # A new item is heard by no disabled endpoint; the owner turns one back on.
    item = await client.post(
        "/api/v1/items", json={"title": "after", "price": "1.00"}, headers=headers
    )
    assert item.status_code == 201, item.text
    for hook in hooks:
        log = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        assert log.json()["items"] == []
    back = await client.patch(
        f"/api/v1/webhooks/{hooks[0]['id']}", json={"active": True}, headers=headers
    )
    assert back.status_code == 200 and back.json()["active"] is True
    assert back.json()["disabled_reason"] is None


async def test_a_password_change_disables_the_webhooks_and_mails_the_owner(
    client: httpx.AsyncClient, services: Services, mail_worker: SmtpServer
) -> None:
    headers = await with_webhooks(client, "changed@example.com")
    await mail_worker.wait_for("changed@example.com")  # the welcome mail

    changed = await client.patch(
        "/api/v1/users/me",
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text

    hooks = await webhooks(client, headers)  # this session is kept; its webhooks are not
    assert [hook["active"] for hook in hooks] == [False, False]
    assert all(
        hook["disabled_reason"].startswith("disabled by a password change") for hook in hooks
    )
    notice = (await mail_worker.wait_for("changed@example.com", count=2))[-1]
    assert notice.message["Subject"] == "Your Tandem webhooks were turned off"
    assert all(url in notice.text for url in HOOKS)


async def test_a_change_of_name_leaves_the_webhooks_alone(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await with_webhooks(client, "renamed@example.com")
    changed = await client.patch("/api/v1/users/me", json={"name": "New"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert [hook["active"] for hook in await webhooks(client, headers)] == [True, True]
