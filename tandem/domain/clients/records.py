"""What a partner API client is, as every layer sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client acting for `user_id` with at most `scopes`; its secret is never here."""

    id: int
    client_id: str
    name: str
    user_id: int
    scopes: frozenset[str]
    created_at: datetime
    api_version: str  # the dated API version its requests get when they name none


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What checking a client's secret needs: its digest and the current generation."""

    client: ClientRecord
    secret_hash: bytes
    generation: uuid.UUID


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """A client with its new secret: the only moment the secret exists in clear."""

    client: ClientRecord
    client_secret: str


@dataclass(frozen=True, slots=True)
class ClientPrincipalRow:
    """What the guard needs about a client token's client and user, in one statement."""

    user_id: int
    role: str
    is_active: bool
    # The client's pinned API version while it exists at the token's generation, else None.
    client_version: str | None
    token_revoked: bool

    @property
    def client_current(self) -> bool:
        return self.client_version is not None
