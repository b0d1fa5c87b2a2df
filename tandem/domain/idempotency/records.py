"""Idempotency keys as the domain sees them: a request to honour once, and its stored answer.

The answer is opaque here (a status number, a few headers, the body's bytes): the face
that rendered it is the only one that reads it, so the domain stays free of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """One principal's (`subject`) key, and a digest of what it was sent with."""

    subject: str
    key: str
    fingerprint: bytes


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class StoredKey:
    fingerprint: bytes
    answer: StoredAnswer
