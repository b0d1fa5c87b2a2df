"""Scopes: what a token may do, asked for with `scope` and granted within what is held.

RFC 6749 §3.3: the `scope` parameter is a space-separated list; the server issues at
most what was asked for and what the principal holds, and says what it granted.
"""

from __future__ import annotations

from collections.abc import Iterable

from tandem.domain.errors import DomainError

ITEMS_READ = "items:read"
ITEMS_WRITE = "items:write"
USERS_READ = "users:read"
USERS_WRITE = "users:write"
WEBHOOKS_READ = "webhooks:read"  # see your endpoints and their deliveries
WEBHOOKS_WRITE = "webhooks:write"  # register, change, delete, rotate, redeliver, ping, replay
KNOWN_SCOPES = frozenset(
    {ITEMS_READ, ITEMS_WRITE, USERS_READ, USERS_WRITE, WEBHOOKS_READ, WEBHOOKS_WRITE}
)


class InvalidScope(DomainError):
    """RFC 6749 §5.2 `invalid_scope`: a scope nobody knows, or none that could be granted."""

    code = "VALIDATION_FAILED"


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - KNOWN_SCOPES)


def scope_text(scopes: Iterable[str]) -> str:
    """The canonical form: sorted, space-separated (what tokens and answers carry)."""
    return " ".join(sorted(set(scopes)))


def grant(requested: str | None, held: frozenset[str]) -> frozenset[str]:
    """What a grant issues: all that is `held` when nothing is asked, else the overlap.

    An unknown scope, or a request of which nothing is held, is InvalidScope.
    """
    if requested is None or not requested.strip():
        return held
    asked = frozenset(requested.split())
    unknown = unknown_scopes(asked)
    if unknown:
        raise InvalidScope(f"Unknown scope: {', '.join(unknown)}.")
    granted = asked & held
    if not granted:
        raise InvalidScope("None of the requested scopes can be granted to this caller.")
    return granted
