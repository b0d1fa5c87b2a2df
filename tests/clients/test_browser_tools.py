"""GraphiQL, Swagger UI and ReDoc in a real headless Chromium that can reach only loopback.

Each page must work from Tandem's own files, under its Content-Security-Policy, with no
console error (a CSP violation is one), no script error, and no request off the machine.
Skipped, saying why, only where no Chromium is installed (`bash .ci/install-clients`).
TANDEM_SCREENSHOTS=<dir> keeps the screenshots.
"""

from __future__ import annotations

from typing import Any

import httpx

PASSWORD = "a browser-test password"
TIMEOUT_MS = 20_000


async def sign_up(base_url: str, email: str, name: str) -> str:
    """A new account over REST, its access token, and an item, as a newcomer makes them."""
    async with httpx.AsyncClient(base_url=base_url) as rest:
        created = await rest.post(
            "/api/v1/auth/register", json={"email": email, "name": name, "password": PASSWORD}
        )
        assert created.status_code == 201, created.text
        tokens = await rest.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        assert tokens.status_code == 200, tokens.text
        token: str = tokens.json()["access_token"]
        item = await rest.post(
            "/api/v1/items",
            json={"title": "Offline lamp", "price": "12.50"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert item.status_code == 201, item.text
    return token


async def replace_text(page: Any, editor: Any, text: str) -> None:
    """Select all in a GraphiQL editor and paste `text`, as a person does."""
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)


async def test_graphiql_runs_a_signed_in_query_with_no_internet(
    served, browser, watch, screenshots
):
    from playwright.async_api import expect

    token = await sign_up(served, "grace.browser@example.com", "Grace Browser")
    context, _ = browser
    page = await context.new_page()
    response = await page.goto(served + "/graphql")
    assert response is not None and response.ok
    policy = await response.header_value("content-security-policy")
    assert "script-src 'self'" in policy and "unsafe" not in policy

    await expect(page.locator(".graphiql-container")).to_be_visible(timeout=TIMEOUT_MS)
    # The header editor is open (Headers tab); its editor is the last one in the tools pane.
    await page.get_by_text("Headers", exact=True).click()
    await replace_text(
        page,
        page.locator(".graphiql-editor-tool .CodeMirror").last,
        '{"Authorization": "Bearer ' + token + '"}',
    )
    await replace_text(
        page,
        page.locator(".graphiql-query-editor .CodeMirror"),
        "{ me { name email } items(first: 5) { totalCount nodes { title price } } }",
    )
    await page.locator(".graphiql-execute-button").click()

    result = page.locator(".result-window")
    await expect(result).to_contain_text("Grace Browser", timeout=TIMEOUT_MS)
    await expect(result).to_contain_text("grace.browser@example.com")
    await expect(result).to_contain_text("Offline lamp")
    await page.screenshot(path=str(screenshots / "graphiql.png"))
    await page.close()
    assert not watch.problems(), watch.problems()


async def test_graphiql_subscription_receives_an_item_changed_elsewhere(
    served, browser, watch, screenshots
):
    """graphql-transport-ws from GraphiQL: the Headers tab becomes connection_init's payload.

    Run straight after the paste, as a person pressing Ctrl-Enter does: GraphiQL's own
    fetcher chose the socket from the editor's parse, 100 ms behind the text, and sent the
    subscription as a plain POST (answered INTERNAL, then; now a 400 request error).
    """
    from playwright.async_api import expect

    token = await sign_up(served, "ada.socket@example.com", "Ada Socket")
    context, _ = browser
    page = await context.new_page()
    await page.goto(served + "/graphql")
    await expect(page.locator(".graphiql-container")).to_be_visible(timeout=TIMEOUT_MS)
    await page.get_by_text("Headers", exact=True).click()
    await replace_text(
        page,
        page.locator(".graphiql-editor-tool .CodeMirror").last,
        '{"Authorization": "Bearer ' + token + '"}',
    )
    await replace_text(
        page,
        page.locator(".graphiql-query-editor .CodeMirror"),
        "subscription { itemChanged { kind item { title owner { name } } } }",
    )
    await page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    # A subscription hears what happens after it starts, and nothing says when the socket
    # has subscribed: an item is made each second until one is heard (or the time is up).
    async with httpx.AsyncClient(base_url=served) as rest:
        for attempt in range(TIMEOUT_MS // 1000):
            made = await rest.post(
                "/api/v1/items",
                json={"title": f"Heard in GraphiQL {attempt}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert made.status_code == 201, made.text
            if "Heard in GraphiQL" in (await result.inner_text()):
                break
            await page.wait_for_timeout(1000)
    await expect(result).to_contain_text("Heard in GraphiQL", timeout=TIMEOUT_MS)
    await expect(result).to_contain_text("CREATED")
    await expect(result).not_to_contain_text("INTERNAL")
    await page.screenshot(path=str(screenshots / "graphiql-subscription.png"))
    await page.close()
    assert not watch.problems(), watch.problems()


async def operation_count(base_url: str) -> int:
    async with httpx.AsyncClient() as client:
        document = (await client.get(base_url + "/openapi.json")).json()
    methods = {"get", "put", "post", "patch", "delete", "head", "options"}
    # OpenAPI 3.1's webhooks are operations too: both tools show each one as a section.
    return sum(
        1
        for section in ("paths", "webhooks")
        for path in document.get(section, {}).values()
        for method in path
        if method in methods
    )


async def test_swagger_ui_shows_every_operation_with_no_internet(
    served, browser, watch, screenshots
):
    from playwright.async_api import expect

    context, _ = browser
    page = await context.new_page()
    response = await page.goto(served + "/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in (await response.header_value("content-security-policy"))
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible(timeout=TIMEOUT_MS)
    await expect(operations).to_have_count(await operation_count(served))
    await expect(
        page.locator(".opblock-summary-path").filter(has_text="/api/v1/items").first
    ).to_be_visible()
    await page.screenshot(path=str(screenshots / "swagger-ui.png"))
    await page.close()
    assert not watch.problems(), watch.problems()


async def test_redoc_shows_every_operation_with_no_internet(served, browser, watch, screenshots):
    from playwright.async_api import expect

    context, _ = browser
    page = await context.new_page()
    response = await page.goto(served + "/redoc")
    assert response is not None and response.ok
    assert "script-src 'self'" in (await response.header_value("content-security-policy"))
    await expect(page.locator("h1").first).to_contain_text("Tandem", timeout=TIMEOUT_MS)
    sections = page.locator("[data-section-id*='/operation/'], [data-section-id*='/paths/']")
    await expect(sections).to_have_count(await operation_count(served))
    await page.screenshot(path=str(screenshots / "redoc.png"))
    await page.close()
    assert not watch.problems(), watch.problems()
