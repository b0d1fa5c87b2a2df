"""Access tokens: short-lived JWTs signed with one pinned algorithm; refresh tokens: opaque."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from tandem.domain.errors import InvalidToken

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068: refresh or reset tokens can never pass for one
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "iss", "aud", "scope"]
LEEWAY_SECONDS = 10
# Verified tokens remembered, so a caller's next request skips parsing and HMAC. Only a
# token that passed every check gets in, so junk cannot fill it; the oldest goes first.
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    scopes: frozenset[str]
    token_id: uuid.UUID
    family_id: uuid.UUID | None
    expires_at: datetime
    client_id: str | None = None  # RFC 9068 `client_id`: a partner client's token


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int


def key_id(key: str) -> str:
    """A short, public name for a key, so a token says which key of the set signed it."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class AccessTokenCodec:
    """Signs with the first key of the set; verifies with whichever key the token's `kid` names.

    Rotation without downtime: put the new key first and keep the old one until the
    tokens it signed have expired.
    """

    def __init__(self, *, keys: list[str], issuer: str, audience: str, ttl_seconds: int) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._signing_key = keys[0]
        self._signing_kid = key_id(keys[0])
        self._keys = {key_id(key): key for key in keys}
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds
        # token -> (usable until, its claims)
        self._verified: dict[str, tuple[float, AccessClaims]] = {}

    def issue(
        self,
        *,
        user_id: int,
        scopes: frozenset[str],
        family_id: uuid.UUID | None,
        client_id: str | None = None,
    ) -> IssuedAccessToken:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_seconds),
            "jti": str(uuid.uuid4()),
            "iss": self._issuer,
            "aud": self._audience,
            "scope": " ".join(sorted(scopes)),
        }
        if family_id is not None:
            claims["sid"] = str(family_id)
        if client_id is not None:
            claims["client_id"] = client_id
        headers = {"typ": ACCESS_TOKEN_TYPE, "kid": self._signing_kid}
        token = jwt.encode(claims, self._signing_key, algorithm=ALGORITHM, headers=headers)
        return IssuedAccessToken(token=token, expires_in=self.ttl_seconds)

    def decode(self, token: str) -> AccessClaims:
        """Verify signature, algorithm, type and every claim; InvalidToken otherwise.

        A token verified before is taken from memory until it expires: its signature and
        claims cannot have changed, and the set of keys is fixed for this process's life.
        Revocation is not decided here; the guard asks the database on every request.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            usable_until, claims = remembered
            if time.time() < usable_until:
                return claims
            del self._verified[token]
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (claims.expires_at.timestamp() + LEEWAY_SECONDS, claims)
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != ACCESS_TOKEN_TYPE:
                raise InvalidToken("The token is not an access token.")
            key = self._keys.get(str(header.get("kid")))
            if key is None:
                raise InvalidToken("The token was signed with a key this server does not know.")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
            family = claims.get("sid")
            client_id = claims.get("client_id")
            return AccessClaims(
                user_id=int(claims["sub"]),
                scopes=frozenset(str(claims["scope"]).split()),
                token_id=uuid.UUID(str(claims["jti"])),
                family_id=uuid.UUID(str(family)) if family is not None else None,
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
                client_id=None if client_id is None else str(client_id),
            )
        except InvalidToken:
            raise
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            raise InvalidToken("The access token is invalid or has expired.") from error


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    """Opaque tokens are stored only as their SHA-256: a database leak hands out nothing."""
    return hashlib.sha256(token.encode()).digest()
