"""The SSRF guard: which addresses a webhook may reach, decided on what DNS answers now.

Only public unicast addresses pass: no loopback, private, link-local (cloud
metadata lives there: 169.254.169.254, fd00:ec2::254), unique-local, shared
(CGNAT), multicast, reserved or unspecified ones, and no IPv6 form that embeds
a refused IPv4 address (mapped, NAT64, 6to4). Checked at registration and again
before each delivery, which then connects to the very address that was checked,
so a name that re-resolves elsewhere (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


class RefusedDestination(Exception):
    """The URL names or resolves to an address Tandem will not call."""


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address in _SIX_TO_FOUR:
            embedded = address.sixtofour
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a URL leads: its host name, port, and the addresses it resolved to."""

    host: str
    port: int
    addresses: tuple[IPAddress, ...]


async def resolve(url: str) -> Destination:
    """Every address the URL's host resolves to now; RefusedDestination if none."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal = ipaddress.ip_address(host)
        return Destination(host, port, (literal,))
    except ValueError:
        pass
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedDestination(f"the host {host!r} does not resolve ({error})") from None
    found: list[IPAddress] = []
    for *_, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise RefusedDestination(f"the host {host!r} has no address")
    return Destination(host, port, tuple(found))


async def public_destination(url: str) -> Destination:
    """`resolve`, refusing the URL if any address it resolves to is not public."""
    destination = await resolve(url)
    for address in destination.addresses:
        if not is_public(address):
            raise RefusedDestination(
                f"the host resolves to {address}, which is not a public address"
            )
    return destination


class AddressGuard:
    """`DestinationGuard`: public addresses only, unless private ones are allowed."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def problem(self, url: str) -> str | None:
        if self.allow_private:
            return None
        try:
            await public_destination(url)
        except RefusedDestination as refused:
            return f"is not allowed: {refused}"
        return None
