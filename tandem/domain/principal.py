"""Who is calling: the one thing both faces hand to the domain about identity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tandem.domain.auth.scopes import ITEMS_READ as ITEMS_READ
from tandem.domain.auth.scopes import ITEMS_WRITE as ITEMS_WRITE
from tandem.domain.auth.scopes import USERS_READ as USERS_READ
from tandem.domain.auth.scopes import USERS_WRITE as USERS_WRITE
from tandem.domain.auth.scopes import WEBHOOKS_READ as WEBHOOKS_READ
from tandem.domain.auth.scopes import WEBHOOKS_WRITE as WEBHOOKS_WRITE
from tandem.domain.errors import Forbidden, Unauthenticated
from tandem.domain.users.records import Role

# A password login may do everything its user may; a partner client, the scopes an
# administrator gave it when creating it (domain/clients/service.py).
LOGIN_SCOPES = frozenset(
    {ITEMS_READ, ITEMS_WRITE, USERS_READ, USERS_WRITE, WEBHOOKS_READ, WEBHOOKS_WRITE}
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is reading: enough to build the visibility predicate, nothing more."""

    user_id: int
    is_admin: bool


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: Role
    scopes: frozenset[str]
    token_id: uuid.UUID
    family_id: uuid.UUID | None = None
    client_id: str | None = None  # set when a partner API client calls, for its user
    api_version: str | None = None  # that client's pinned API version (a date), if any

    @property
    def subject(self) -> str:
        """Whose idempotency keys these are: the user's own, or one client's of theirs."""
        return f"user:{self.user_id}" if self.client_id is None else f"client:{self.client_id}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def viewer(self) -> Viewer:
        return Viewer(user_id=self.user_id, is_admin=self.is_admin)

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This token lacks the '{scope}' scope.")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only administrators may do this.")


def signed_in(principal: Principal | None, *, scope: str | None = None) -> Principal:
    """The principal, or UNAUTHENTICATED for an anonymous caller; checks `scope` if given."""
    if principal is None:
        raise Unauthenticated("Sign in to do this: send 'Authorization: Bearer <token>'.")
    if scope is not None:
        principal.require_scope(scope)
    return principal
