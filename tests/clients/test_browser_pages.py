"""Development's own pages in Chromium: `/` (where the tools are) and `/reset-password`
(the page the reset mail's link opens), each under the tools' Content-Security-Policy.

The reset walk is a person's: ask for a reset, open the `.eml` file the worker wrote,
copy the link out of its raw text, open it, choose a new password, sign in with it.
Skipped, saying why, only where no Chromium is installed (`bash .ci/install-clients`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clients.served import free_port, served_tandem
from tests.clients.test_browser_tools import PASSWORD, TIMEOUT_MS, sign_up

NEW_PASSWORD = "a password chosen in the browser"


@pytest.fixture(scope="module")
def served_with_mail(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """`tandem serve` whose PUBLIC_URL is itself, writing mail as files; (URL, mail folder)."""
    cwd = tmp_path_factory.mktemp("served-mail")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with served_tandem(
        database_url=database_url,
        cwd=cwd,
        port=port,
        PUBLIC_URL=base_url,
        WORKER_POLL_SECONDS="0.2",
    ):
        yield base_url, cwd / ".tandem" / "mail"


def copied_link(mail: Path, email: str) -> str | None:
    """The link, copied from the raw `.eml` as a person copies it from a text editor."""
    for path in mail.glob("*-password_reset.eml"):
        raw = path.read_bytes().decode("utf-8")
        if f"To: {email}" in raw:
            [link] = [
                line.strip()
                for line in raw.splitlines()
                if line.strip().startswith("http") and "/reset-password?token=" in line
            ]
            return link
    return None


async def mailed_reset_link(mail: Path, email: str) -> str:
    async with asyncio.timeout(30):
        while True:
            link = await asyncio.to_thread(copied_link, mail, email)
            if link is not None:
                return link
            await asyncio.sleep(0.2)


async def test_the_mailed_reset_link_opens_a_page_that_sets_the_password(
    served_with_mail, browser, watch, screenshots
):
    from playwright.async_api import expect

    served, mail = served_with_mail
    email = "zoe.reset@example.com"
    await sign_up(served, email, "Zoë Reset")
    async with httpx.AsyncClient(base_url=served) as rest:
        asked = await rest.post("/api/v1/auth/password-recovery", json={"email": email})
        assert asked.status_code == 202, asked.text
    link = await mailed_reset_link(mail, email)
    assert link.startswith(served + "/reset-password?token=")

    context, _ = browser
    page = await context.new_page()
    response = await page.goto(link)
    assert response is not None and response.ok
    policy = await response.header_value("content-security-policy")
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert await response.header_value("cache-control") == "no-store"
    await page.locator("#new-password").fill(NEW_PASSWORD)
    await page.locator("#again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the password").click()
    await expect(page.locator("#outcome")).to_contain_text(
        "Your password is set", timeout=TIMEOUT_MS
    )
    assert "token" not in page.url  # dropped from the address bar and its history
    await page.screenshot(path=str(screenshots / "reset-password.png"))

    # The link works once: opened again, the page says why it cannot.
    again = await context.new_page()
    await again.goto(link)
    await again.locator("#new-password").fill("yet another password")
    await again.locator("#again").fill("yet another password")
    await again.get_by_role("button", name="Set the password").click()
    await expect(again.locator("#outcome")).to_have_class("failed", timeout=TIMEOUT_MS)
    await again.close()
    await page.close()

    async with httpx.AsyncClient(base_url=served) as rest:
        for password, status in ((NEW_PASSWORD, 200), (PASSWORD, 400)):
            signed_in = await rest.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": email, "password": password},
            )
            assert signed_in.status_code == status, signed_in.text
    # The second try's 422 is logged by the browser as a failed load; nothing else may be.
    problems = [p for p in watch.problems() if "422" not in p]
    assert not problems, problems


async def test_the_home_page_links_the_tools_under_the_tools_policy(
    served, browser, watch, screenshots
):
    context, _ = browser
    page = await context.new_page()
    response = await page.goto(served + "/")
    assert response is not None and response.ok
    policy = await response.header_value("content-security-policy")
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    hrefs = await page.locator("a").evaluate_all("links => links.map(a => a.pathname)")
    assert {"/docs", "/redoc", "/graphql", "/openapi.json"} <= set(hrefs)
    assert "A first session" in await page.content()
    for href in ("/docs", "/redoc", "/graphql"):
        async with httpx.AsyncClient(base_url=served) as rest:
            opened = await rest.get(href, headers={"Accept": "text/html"})
            assert opened.status_code == 200, href
    await page.screenshot(path=str(screenshots / "home.png"))
    await page.close()
    assert not watch.problems(), watch.problems()
