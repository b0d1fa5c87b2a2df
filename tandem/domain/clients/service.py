"""Partner API clients: created by administrators, each acting for one user within its scopes.

A client's secret is 256 random bits, shown once and stored as its SHA-256 (a slow
hash buys nothing against a secret nobody can guess). Rotating the secret changes
the client's `generation`, which its access tokens carry: the tokens issued with the
old secret stop at once, as do all of them when the client is deleted.
"""

from __future__ import annotations

import hmac
import secrets
import uuid

from tandem.domain.auth.scopes import (
    KNOWN_SCOPES,
    USERS_READ,
    USERS_WRITE,
    scope_text,
    unknown_scopes,
)
from tandem.domain.auth.tokens import digest
from tandem.domain.clients.commands import CreateClient
from tandem.domain.clients.records import ClientCredentials, ClientRecord, IssuedClient
from tandem.domain.errors import Forbidden, InvalidClient, NotFound, ValidationFailed
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.principal import Principal, signed_in
from tandem.domain.users.rules import clean_name
from tandem.domain.versions import forward_only
from tandem.domain.wording import entries, one_of

CLIENT_ID_PREFIX = "tc_"
SECRET_PREFIX = "tcs_"  # so secret scanners and people can tell a secret from an id
BAD_CLIENT = "Client authentication failed: unknown client or wrong secret."
# Compared against when the client is unknown, so both failures cost the same.
_NO_SECRET = digest(secrets.token_urlsafe(32))


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _administrator(principal: Principal | None, scope: str) -> Principal:
    """An administrator signed in as themselves: a client's token never manages clients."""
    caller = signed_in(principal, scope=scope)
    caller.require_admin()
    if caller.client_id is not None:
        raise Forbidden("API clients cannot manage API clients; sign in as an administrator.")
    return caller


def _clean_scopes(scopes: list[str]) -> str:
    unknown = unknown_scopes(scopes)
    if unknown:
        raise ValidationFailed.one(("scopes",), one_of(sorted(KNOWN_SCOPES)), "enum")
    if not scopes:
        raise ValidationFailed.one(("scopes",), entries(1, None), "too_short")
    return scope_text(scopes)


class ClientService:
    def __init__(self, *, database: ScopedStore) -> None:
        self._database = database

    async def create(self, principal: Principal | None, command: CreateClient) -> IssuedClient:
        """An administrator creates a client for a user; its secret is in this answer only."""
        _administrator(principal, USERS_WRITE)
        return await self.provision(command)

    async def provision(self, command: CreateClient) -> IssuedClient:
        """Create a client with no caller to check: for the operator's `tandem create-client`."""
        name = clean_name(command.name)
        scopes = _clean_scopes(command.scopes)
        secret = _new_secret()
        async with self._database.transaction() as uow:
            if await uow.users.get(command.user_id) is None:
                raise ValidationFailed.one(
                    ("user_id",), f"no user with id {command.user_id}", "value_error"
                )
            client = await uow.clients.add(
                client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(16),
                name=name,
                user_id=command.user_id,
                scopes=scopes,
                secret_hash=digest(secret),
                generation=uuid.uuid4(),
                api_version=command.api_version,
            )
        return IssuedClient(client, secret)

    async def pin_version(
        self, principal: Principal | None, id_: int, api_version: str
    ) -> ClientRecord:
        """Move the client's pinned API version forward (never back); the same one is a no-op."""
        _administrator(principal, USERS_WRITE)
        async with self._database.transaction() as uow:
            current = next((c for c in await uow.clients.all() if c.id == id_), None)
            if current is None:
                raise NotFound.missing("API client", id_)
            forward_only(current.api_version, api_version)
            client = await uow.clients.pin(id_, api_version)
        if client is None:
            raise NotFound.missing("API client", id_)
        return client

    async def list(self, principal: Principal | None) -> list[ClientRecord]:
        _administrator(principal, USERS_READ)
        async with self._database.reader() as uow:
            return await uow.clients.all()

    async def rotate_secret(self, principal: Principal | None, id_: int) -> IssuedClient:
        """A new secret, shown once; the old one and every token it got stop working."""
        _administrator(principal, USERS_WRITE)
        secret = _new_secret()
        async with self._database.transaction() as uow:
            client = await uow.clients.rotate(
                id_, secret_hash=digest(secret), generation=uuid.uuid4()
            )
        if client is None:
            raise NotFound.missing("API client", id_)
        return IssuedClient(client, secret)

    async def revoke(self, principal: Principal | None, id_: int) -> None:
        """Delete the client: its secret and its tokens stop working at once."""
        _administrator(principal, USERS_WRITE)
        async with self._database.transaction() as uow:
            if not await uow.clients.delete(id_):
                raise NotFound.missing("API client", id_)

    async def authenticate(self, client_id: str, client_secret: str) -> ClientCredentials:
        """The client these credentials name, or InvalidClient; the same cost either way."""
        async with self._database.reader() as uow:
            found = None if "\x00" in client_id else await uow.clients.credentials(client_id)
        expected = _NO_SECRET if found is None else found.secret_hash
        if not hmac.compare_digest(expected, digest(client_secret)) or found is None:
            raise InvalidClient(BAD_CLIENT)
        return found
