"""Sign-in, token refresh with rotation and reuse detection, revocation, and the guard's lookup."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tandem.domain.auth.passwords import MAX_PASSWORD_LENGTH, PasswordHasher
from tandem.domain.auth.scopes import InvalidScope, grant, scope_text
from tandem.domain.auth.throttle import LoginThrottle
from tandem.domain.auth.tokens import AccessClaims, AccessTokenCodec, digest, new_opaque_token
from tandem.domain.clients.service import ClientService
from tandem.domain.errors import InvalidGrant, InvalidToken
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.principal import LOGIN_SCOPES, Principal
from tandem.domain.store import UnitOfWork
from tandem.domain.users.records import Role
from tandem.domain.users.rules import normalise_email
from tandem.domain.values import NUL

BAD_CREDENTIALS = "The email or password is incorrect."
BAD_REFRESH_TOKEN = "The refresh token is invalid, expired or revoked."


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a grant issues; `refresh_token` is None for client credentials (RFC 6749 §4.4.3)."""

    access_token: str
    expires_in: int
    refresh_token: str | None
    scope: str


class AuthService:
    def __init__(
        self,
        *,
        database: ScopedStore,
        hasher: PasswordHasher,
        codec: AccessTokenCodec,
        throttle: LoginThrottle,
        refresh_ttl_seconds: int,
        clients: ClientService,
    ) -> None:
        self._database = database
        self._clients = clients
        self._hasher = hasher
        self._codec = codec
        self._throttle = throttle
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)

    async def login(
        self, *, email: str, password: str, address: str | None = None, scope: str | None = None
    ) -> TokenPair:
        """The password grant. Unknown email and wrong password look the same, in the same time.

        Repeated failures from one `address`, or at one account from it, are refused
        (RATE_LIMITED); at one account from many addresses, slowed (LoginThrottle).
        `scope` narrows what the tokens may do (InvalidScope when unknown).
        """
        scopes = grant(scope, LOGIN_SCOPES)  # a bad scope costs no password hash
        email = normalise_email(email)  # the throttle's key and the lookup: one string
        await self._throttle.attempt(email, address)
        async with self._database.reader() as uow:
            # No stored email holds NUL (PostgreSQL text cannot): such a username is unknown.
            credentials = None if NUL in email else await uow.users.credentials(email)
        too_long = len(password) > MAX_PASSWORD_LENGTH
        ok = await self._hasher.verify(
            None if credentials is None or too_long else credentials.password_hash,
            password[: MAX_PASSWORD_LENGTH + 1],
        )
        if not ok or credentials is None or not credentials.is_active:
            raise InvalidGrant(BAD_CREDENTIALS)  # the attempt already counts as a failure
        await self._throttle.succeeded(email, address)
        async with self._database.transaction() as uow:
            family_id = await uow.tokens.open_family(credentials.id, scope=scope_text(scopes))
            if family_id is None:  # the account was deleted since its password was checked
                raise InvalidGrant(BAD_CREDENTIALS)
            return await self._issue(
                uow, user_id=credentials.id, family_id=family_id, scopes=scopes
            )

    async def refresh(self, refresh_token: str, *, scope: str | None = None) -> TokenPair:
        """Rotate: spend this refresh token, issue a new pair in the same family.

        A token spent twice means someone else holds it: the whole family is
        revoked, and the revocation is committed before the refusal is sent.
        `scope` may narrow the new access token within what the login was granted
        (RFC 6749 §6); the new refresh token keeps the login's scope.
        """
        reused = False
        async with self._database.transaction() as uow:
            spent = await uow.tokens.spend_refresh_token(digest(refresh_token))
            if spent is None or spent.expired or spent.family_revoked:
                raise InvalidGrant(BAD_REFRESH_TOKEN)
            if spent.already_used:
                await uow.tokens.revoke_family(spent.family_id)
                reused = True
            else:
                user = await uow.users.get(spent.user_id)
                if user is None or not user.is_active:
                    raise InvalidGrant(BAD_REFRESH_TOKEN)
                held = LOGIN_SCOPES if spent.scope is None else frozenset(spent.scope.split())
                scopes = _within(scope, held)
                return await self._issue(
                    uow,
                    user_id=spent.user_id,
                    family_id=spent.family_id,
                    scopes=scopes,
                )
        assert reused
        raise InvalidGrant(BAD_REFRESH_TOKEN)

    async def client_credentials(
        self, *, client_id: str, client_secret: str, scope: str | None = None
    ) -> TokenPair:
        """RFC 6749 §4.4: a short-lived access token for the client's user, within its scopes.

        No refresh token: the client holds its credentials and asks again.
        """
        found = await self._clients.authenticate(client_id, client_secret)  # InvalidClient
        scopes = grant(scope, found.client.scopes)
        async with self._database.reader() as uow:
            user = await uow.users.get(found.client.user_id)
        if user is None or not user.is_active:
            raise InvalidGrant("The user this client acts for is deactivated.")
        access = self._codec.issue(
            user_id=found.client.user_id,
            scopes=scopes,
            family_id=found.generation,
            client_id=found.client.client_id,
        )
        return TokenPair(access.token, access.expires_in, None, scope_text(scopes))

    async def revoke(self, token: str) -> None:
        """RFC 7009: revoke an access token, or a refresh token and its family; unknown is fine."""
        async with self._database.transaction() as uow:
            if token.count(".") == 2:
                try:
                    claims = self._codec.decode(token)
                except InvalidToken:
                    return
                await uow.tokens.revoke_access_token(
                    jti=claims.token_id, expires_at=claims.expires_at
                )
                return
            family_id = await uow.tokens.family_of(digest(token))
            if family_id is not None:
                await uow.tokens.revoke_family(family_id)

    async def authenticate(self, token: str) -> Principal:
        """The guard: a bearer token to a principal, with the user's current role and state."""
        claims = self._codec.decode(token)
        if claims.client_id is not None:
            return await self._client_principal(claims)
        async with self._database.reader() as uow:
            row = await uow.tokens.principal(
                user_id=claims.user_id, family_id=claims.family_id, jti=claims.token_id
            )
        if row is None or not row.is_active or row.family_revoked or row.token_revoked:
            raise InvalidToken("The access token has been revoked.")
        return Principal(
            user_id=row.user_id,
            role=Role(row.role),
            scopes=claims.scopes,
            token_id=claims.token_id,
            family_id=claims.family_id,
        )

    async def _client_principal(self, claims: AccessClaims) -> Principal:
        """A client's token works while its client exists at the token's generation."""
        assert claims.client_id is not None
        async with self._database.reader() as uow:
            row = await uow.clients.principal(
                user_id=claims.user_id,
                client_id=claims.client_id,
                generation=claims.family_id,
                jti=claims.token_id,
            )
        if row is None or not row.is_active or not row.client_current or row.token_revoked:
            raise InvalidToken("The access token has been revoked.")
        return Principal(
            user_id=row.user_id,
            role=Role(row.role),
            scopes=claims.scopes,
            token_id=claims.token_id,
            family_id=None,  # a client's generation is no login: nothing to keep on password change
            client_id=claims.client_id,
            api_version=row.client_version,
        )

    async def _issue(
        self,
        uow: UnitOfWork,
        *,
        user_id: int,
        family_id: uuid.UUID,
        scopes: frozenset[str],
    ) -> TokenPair:
        """A new pair; the access token holds `scopes`, the refresh token its family's."""
        refresh_token = new_opaque_token()
        await uow.tokens.add_refresh_token(
            family_id=family_id,
            token_hash=digest(refresh_token),
            expires_at=datetime.now(UTC) + self._refresh_ttl,
        )
        access = self._codec.issue(user_id=user_id, scopes=scopes, family_id=family_id)
        return TokenPair(
            access_token=access.token,
            expires_in=access.expires_in,
            refresh_token=refresh_token,
            scope=scope_text(scopes),
        )


def _within(requested: str | None, held: frozenset[str]) -> frozenset[str]:
    """RFC 6749 §6: a refresh may ask for less than the login got, never for more."""
    scopes = grant(requested, held)
    if requested is not None and not frozenset(requested.split()) <= held:
        raise InvalidScope("A refresh cannot ask for more than the sign-in was granted.")
    return scopes
