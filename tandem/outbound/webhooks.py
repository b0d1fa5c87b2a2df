"""POST a signed webhook once: a 2xx within the timeout is success; redirects are not followed.

A connection that breaks before any answer (`ReadError`, `WriteError`, or a server
that closed it without a word) is tried again at once, on a fresh connection, within
the same attempt and timeout: the usual cause is a pooled keep-alive connection the
receiver had just closed, and that is no reason to wait out a backoff step.

Where private addresses are not allowed (production), the URL's host is
resolved and checked before every attempt and the request goes to the checked
address itself (with the original `Host` header and TLS server name), so DNS
cannot move it elsewhere between the check and the connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from tandem.domain.webhooks.records import Outcome
from tandem.outbound.addresses import IPAddress, RefusedDestination, public_destination

MAX_RESPONSE_BYTES = 64 * 1024
# Broke before any answer came: what a stale pooled connection raises.
STALE = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
EXCERPT_CHARS = 1024


def pinned(url: str, address: IPAddress) -> tuple[str, str, str]:
    """The URL aimed at `address`, the Host header, and the TLS server name it needs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), host_header, host


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    received = bytearray()
    async for chunk in response.aiter_raw():
        received.extend(chunk[: limit - len(received)])
        if len(received) >= limit:
            break
    return bytes(received)


class HttpWebhookSender:
    """`WebhookSender` over one shared httpx client (connections are reused per address)."""

    def __init__(self, *, allow_private: bool, timeout_seconds: float = 15.0) -> None:
        self._allow_private = allow_private
        self._timeout = timeout_seconds
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_seconds),
            trust_env=False,  # no proxy from the environment: the guard checks what we connect to
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Outcome:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        excerpt: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                try:
                    request = await self._request(url, body, headers)
                    response = await self._client.send(request, stream=True)
                except STALE:  # once, at once: httpcore has dropped the broken connection
                    request = await self._request(url, body, headers)
                    response = await self._client.send(request, stream=True)
                try:
                    status = response.status_code
                    raw = await _read_capped(response, MAX_RESPONSE_BYTES)
                finally:
                    await response.aclose()
            excerpt = raw.decode("utf-8", "replace")[:EXCERPT_CHARS] or None
            if 300 <= status < 400:
                where = response.headers.get("location", "elsewhere")
                error = f"HTTP {status}: a redirect (to {where[:200]}) is not followed"
        except RefusedDestination as refused:
            error = f"refused: {refused}"
        except TimeoutError:
            error = f"no complete answer within {self._timeout:g} s"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:500] or type(failure).__name__
        duration_ms = round((time.perf_counter() - started) * 1000)
        return Outcome(started_at, duration_ms, status, error, excerpt)

    async def _request(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Request:
        if self._allow_private:
            return self._client.build_request("POST", url, content=body, headers=headers)
        destination = await public_destination(url)
        target, host_header, server_name = pinned(url, destination.addresses[0])
        return self._client.build_request(
            "POST",
            target,
            content=body,
            headers={**headers, "host": host_header},
            extensions={"sni_hostname": server_name},
        )


class OneShotSender:
    """`WebhookSender` with a client of its own per send: for pings, sent from a request."""

    def __init__(self, *, allow_private: bool, timeout_seconds: float) -> None:
        self._allow_private = allow_private
        self._timeout = timeout_seconds

    async def send(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Outcome:
        sender = HttpWebhookSender(allow_private=self._allow_private, timeout_seconds=self._timeout)
        try:
            return await sender.send(url, body=body, headers=headers)
        finally:
            await sender.aclose()
