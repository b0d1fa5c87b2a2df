"""The domain's use cases, composed once at start-up and shared by both faces."""

from __future__ import annotations

from dataclasses import dataclass

from tandem.domain.auth.passwords import PasswordHasher
from tandem.domain.auth.service import AuthService
from tandem.domain.auth.tokens import AccessTokenCodec
from tandem.domain.items.service import ItemService
from tandem.domain.users.service import UserService
from tandem.persistence.database import Database


@dataclass(frozen=True, slots=True)
class Services:
    database: Database
    auth: AuthService
    users: UserService
    items: ItemService


def build_services(
    *,
    database: Database,
    signing_key: str,
    issuer: str,
    audience: str,
    access_ttl_seconds: int,
    refresh_ttl_seconds: int,
    hash_time_cost: int,
    hash_memory_kib: int,
) -> Services:
    hasher = PasswordHasher(time_cost=hash_time_cost, memory_kib=hash_memory_kib)
    codec = AccessTokenCodec(
        key=signing_key, issuer=issuer, audience=audience, ttl_seconds=access_ttl_seconds
    )
    return Services(
        database=database,
        auth=AuthService(
            database=database, hasher=hasher, codec=codec, refresh_ttl_seconds=refresh_ttl_seconds
        ),
        users=UserService(database=database, hasher=hasher),
        items=ItemService(database=database),
    )
