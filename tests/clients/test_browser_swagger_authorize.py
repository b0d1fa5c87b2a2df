"""Swagger UI's Authorize, as a person uses it: sign in, then "Try it out" on a protected route.

Both OAuth 2 flows the document declares: the password flow (an account) and client
credentials (an API client an administrator made). Swagger UI sends the token it got only
to operations whose `security` lists the scheme it got it through, so each protected
operation must list `OAuth2`; before it did, every "Try it out" answered 401.
Skipped, saying why, only where no Chromium is installed (`bash .ci/install-clients`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from typing import Any

import httpx

from tests.clients.served import TANDEM
from tests.clients.test_browser_tools import PASSWORD, TIMEOUT_MS, sign_up


async def open_authorize(page: Any, served: str) -> Any:
    from playwright.async_api import expect

    await page.goto(served + "/docs")
    await expect(page.locator(".opblock").first).to_be_visible(timeout=TIMEOUT_MS)
    await page.locator(".btn.authorize").first.click()
    dialog = page.locator(".modal-ux")
    await expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
    return dialog


async def try_it_out(page: Any, operation_id: str) -> Any:
    """Expand the operation, press "Try it out" and "Execute"; the answer's status cell."""
    from playwright.async_api import expect

    block = page.locator(f"[id$='-{operation_id}']").first  # operations-<tag>-<operationId>
    await block.locator(".opblock-summary").first.click()
    await block.get_by_role("button", name="Try it out").click()
    await block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    await expect(status).to_be_visible(timeout=TIMEOUT_MS)
    return status


async def test_swagger_authorize_with_a_password_then_try_it_out(
    served, browser, watch, screenshots
):
    from playwright.async_api import expect

    await sign_up(served, "ada.swagger@example.com", "Ada Swagger")
    context, _ = browser
    page = await context.new_page()
    dialog = await open_authorize(page, served)
    flow = dialog.locator(".auth-container").filter(has_text="(OAuth2, password)")
    await flow.locator("#oauth_username").fill("ada.swagger@example.com")
    await flow.locator("#oauth_password").fill(PASSWORD)
    await flow.locator("button.authorize").click()
    await expect(flow.locator("button", has_text="Logout")).to_be_visible(timeout=TIMEOUT_MS)
    await dialog.locator(".close-modal").first.click()

    status = await try_it_out(page, "getMe")
    await expect(status).to_have_text("200", timeout=TIMEOUT_MS)
    body = page.locator(
        "#operations-users-getMe .live-responses-table tr.response .response-col_description"
    )
    await expect(body).to_contain_text("ada.swagger@example.com")
    await page.screenshot(path=str(screenshots / "swagger-authorize-password.png"))
    await page.close()
    assert not watch.problems(), watch.problems()


async def test_swagger_authorize_with_client_credentials_then_try_it_out(
    served, database_url, browser, watch, screenshots
):
    from playwright.async_api import expect

    # An API client for a new account, made by the operator's `tandem create-client`.
    token = await sign_up(served, "grace.swagger@example.com", "Grace Swagger")
    async with httpx.AsyncClient(base_url=served) as rest:
        me = await rest.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    made = await asyncio.to_thread(
        subprocess.run,
        [
            str(TANDEM),
            "create-client",
            "--name",
            "Swagger",
            "--user-id",
            str(me.json()["id"]),
            "--scopes",
            "items:read",
        ],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    printed = dict(
        line.split(":", 1) for line in made.stdout.splitlines() if line.startswith("client_")
    )
    client_id, client_secret = printed["client_id"].strip(), printed["client_secret"].strip()

    context, _ = browser
    page = await context.new_page()
    dialog = await open_authorize(page, served)
    flow = dialog.locator(".auth-container").filter(has_text="(OAuth2, clientCredentials)")
    await flow.locator("#client_id_clientCredentials").fill(client_id)
    await flow.locator("#client_secret_clientCredentials").fill(client_secret)
    await flow.locator("button.authorize").click()
    await expect(flow.locator("button", has_text="Logout")).to_be_visible(timeout=TIMEOUT_MS)
    await dialog.locator(".close-modal").first.click()

    status = await try_it_out(page, "listItems")
    await expect(status).to_have_text("200", timeout=TIMEOUT_MS)
    body = page.locator(
        "#operations-items-listItems .live-responses-table tr.response .response-col_description"
    )
    await expect(body).to_contain_text("Offline lamp")
    await page.screenshot(path=str(screenshots / "swagger-authorize-client.png"))
    await page.close()
    assert not watch.problems(), watch.problems()
