"""Debian's Chromium, driven by Playwright (PyPI), that may reach nothing but loopback.

Playwright never downloads a browser here: it launches /usr/bin/chromium. Every request
the page makes to another host is refused and recorded, and the resolver maps every
name but 127.0.0.1 to nothing, so a tool that still needs a CDN shows up as a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Watch:
    """What went wrong on a page: console errors (CSP violations among them), page errors,
    and requests to anywhere but loopback."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [*self.errors, *(f"request off loopback: {url}" for url in self.outside)]


@asynccontextmanager
async def loopback_browser(executable: str, profile: Path) -> AsyncIterator[tuple[Any, Watch]]:
    """A fresh Chromium profile; yields (context, watch) with every page watched.

    Playwright's async API, on the suite's own event loop (its sync API would run a loop
    of its own, which the suite's async fixtures cannot share).
    """
    from playwright.async_api import Route, async_playwright

    watch = Watch()

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            await route.continue_()
        else:
            watch.outside.append(route.request.url)
            await route.abort()

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            args=FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        try:
            await context.route("**/*", only_loopback)
            context.on("page", lambda page: _watch(page, watch))
            yield context, watch
        finally:
            await context.close()


def _watch(page: Any, watch: Watch) -> None:
    page.on(
        "console",
        lambda message: (
            watch.errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: watch.errors.append(f"page error: {error}"))
