"""The SSRF guard: which addresses a webhook may reach, decided on what DNS answers now.

Only public unicast addresses pass: no loopback, private, link-local (cloud
metadata lives there: 169.254.169.254, fd00:ec2::254), unique-local, shared
(CGNAT), multicast, reserved or unspecified ones, and no IPv6 address that
carries a refused IPv4 address, in any of the forms that embed one: mapped
(::ffff:a.b.c.d), compatible (::a.b.c.d), translated (::ffff:0:a.b.c.d), NAT64
(64:ff9b::/96), 6to4 (2002::/16), Teredo (server and client) and ISATAP
(…:5efe:a.b.c.d, under any prefix). Checked at registration and again
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
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 §2.5.5.1, deprecated, still routed
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT): ::ffff:0:a.b.c.d
_ISATAP = (0x00005EFE, 0x02005EFE)  # RFC 5214: the interface identifier's first 32 bits


class RefusedDestination(Exception):
    """The URL names or resolves to an address Tandem will not call."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address this IPv6 address carries, in any form that embeds one."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _COMPATIBLE or address in _TRANSLATED or address in _NAT64:
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # (server, client), the client's bits un-obfuscated
    if (int(address) >> 32) & 0xFFFFFFFF in _ISATAP:
        found.append(low32)
    return found


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and not all(
        is_public(inner) for inner in embedded_ipv4(address)
    ):
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
