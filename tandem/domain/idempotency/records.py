"""Idempotency keys as the domain sees them: a request to honour once, and its stored answer.

The answer is opaque here (a status number, a few headers, the body's bytes): the face
that rendered it is the only one that reads it, so the domain stays free of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tandem.domain.principal import Principal


def owner_of(principal: Principal) -> str:
    """Whose keys these are: one partner client's, or one login's (the user and the token's
    family), so another token of the same user never replays what this one was answered."""
    if principal.client_id is not None:
        return f"client:{principal.client_id}"
    return f"user:{principal.user_id}:login:{principal.family_id}"


@dataclass(frozen=True, slots=True)
class Authority:
    """What a caller was allowed when it was answered: its role and its token's scopes."""

    admin: bool
    scopes: frozenset[str]

    @classmethod
    def of(cls, principal: Principal) -> Authority:
        return cls(admin=principal.is_admin, scopes=principal.scopes)

    def covers(self, other: Authority) -> bool:
        """Whether everything `other` was allowed, this is allowed too."""
        return (self.admin or not other.admin) and self.scopes >= other.scopes

    def text(self) -> str:
        """As stored: `admin` or `member`, then the scopes, space-separated."""
        return " ".join(["admin" if self.admin else "member", *sorted(self.scopes)])

    @classmethod
    def parse(cls, text: str) -> Authority:
        role, *scopes = text.split()
        return cls(admin=role == "admin", scopes=frozenset(scopes))


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """One owner's (`subject`, see `owner_of`) key, a digest of what it was sent with, and the
    authority of the caller who sent it."""

    subject: str
    key: str
    fingerprint: bytes
    authority: Authority = field(default_factory=lambda: Authority(False, frozenset()))

    @classmethod
    def of(cls, principal: Principal, key: str, fingerprint: bytes) -> IdempotentRequest:
        return cls(owner_of(principal), key, fingerprint, Authority.of(principal))


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class StoredKey:
    fingerprint: bytes
    answer: StoredAnswer
    authority: Authority
