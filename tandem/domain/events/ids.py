"""Public event ids: `evt_` and a ULID (time-ordered, 26 Crockford base32 characters)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
PREFIX = "evt_"


def new_event_id() -> str:
    """48 bits of milliseconds then 80 random bits: unique, unguessable, roughly sortable."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return PREFIX + "".join(reversed(chars))


def looks_like_event_id(value: str) -> bool:
    body = value.removeprefix(PREFIX)
    return value.startswith(PREFIX) and len(body) == 26 and all(c in _ALPHABET for c in body)
