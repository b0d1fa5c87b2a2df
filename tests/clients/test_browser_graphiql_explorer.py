"""GraphiQL made for exploring, in Chromium: sign in on the page, build a query by clicking
through the schema in the Explorer plugin, run it; and the starter query fits the editor.

Skipped, saying why, only where no Chromium is installed (`bash .ci/install-clients`).
"""

from __future__ import annotations

from tests.clients.test_browser_tools import PASSWORD, TIMEOUT_MS, sign_up


async def test_sign_in_on_the_page_then_build_a_query_in_the_explorer(
    served, browser, watch, screenshots
):
    from playwright.async_api import expect

    await sign_up(served, "alan.explorer@example.com", "Alan Explorer")
    context, _ = browser
    page = await context.new_page()
    await page.set_viewport_size({"width": 1400, "height": 900})
    await page.goto(served + "/graphql")
    await expect(page.locator(".graphiql-container")).to_be_visible(timeout=TIMEOUT_MS)

    # The sign-in form above GraphiQL: the token lands in the Headers tab.
    form = page.locator("#sign-in")
    await form.locator("input[name=username]").fill("alan.explorer@example.com")
    await form.locator("input[name=password]").fill(PASSWORD)
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#sign-in-status")).to_contain_text(
        "Signed in as alan.explorer@example.com", timeout=TIMEOUT_MS
    )
    headers = page.locator(".graphiql-editor-tool .CodeMirror").last
    await expect(headers).to_contain_text('"Authorization": "Bearer ey')

    # An empty editor, then the Explorer: tick `me`, then its `name` and `email`.
    query = page.locator(".graphiql-query-editor .CodeMirror")
    await query.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.get_by_label("Show GraphiQL Explorer").click()
    explorer = page.locator(".graphiql-plugin .graphiql-explorer-root")
    await expect(explorer).to_be_visible(timeout=TIMEOUT_MS)
    await explorer.locator("[data-field-name='me']").click()
    me = explorer.locator(".graphiql-explorer-me")
    await me.locator("[data-field-name='name']").click()
    await me.locator("[data-field-name='email']").click()
    await expect(query).to_contain_text("me {", timeout=TIMEOUT_MS)
    await expect(query).to_contain_text("email")

    await page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    await expect(result).to_contain_text("Alan Explorer", timeout=TIMEOUT_MS)
    await expect(result).to_contain_text("alan.explorer@example.com")
    await page.screenshot(path=str(screenshots / "graphiql-explorer.png"))
    await page.close()
    assert not watch.problems(), watch.problems()


async def test_the_starter_query_fits_the_editor_at_1400_pixels(served, browser, watch):
    from playwright.async_api import expect

    context, _ = browser
    page = await context.new_page()
    await page.set_viewport_size({"width": 1400, "height": 900})
    # What earlier tests left in GraphiQL's storage goes, before its scripts run: a newcomer's view.
    await page.add_init_script("localStorage.clear()")
    await page.goto(served + "/graphql")
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    await expect(editor).to_contain_text("Tandem's GraphQL face", timeout=TIMEOUT_MS)
    scroller = editor.locator(".CodeMirror-scroll")
    overflow = await scroller.evaluate("element => element.scrollWidth - element.clientWidth")
    assert overflow <= 0, f"the starter query is {overflow} px wider than its editor"
    await page.close()
    assert not watch.problems(), watch.problems()
