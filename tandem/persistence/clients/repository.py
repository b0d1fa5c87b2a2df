"""Every statement about partner API clients."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    LargeBinary,
    String,
    Text,
    Uuid,
    bindparam,
    delete,
    exists,
    insert,
    select,
    update,
)

from tandem.domain import reads
from tandem.domain.clients.records import ClientCredentials, ClientPrincipalRow, ClientRecord
from tandem.persistence.auth.models import RevokedAccessToken
from tandem.persistence.clients.models import ApiClient
from tandem.persistence.positions.statements import position_of
from tandem.persistence.sql import Connection, compile_query
from tandem.persistence.users.models import User

COLUMNS = (
    ApiClient.id,
    ApiClient.client_id,
    ApiClient.name,
    ApiClient.user_id,
    ApiClient.scopes,
    ApiClient.created_at,
    ApiClient.api_version,
)
_ID = bindparam("id", type_=BigInteger)
_CLIENT_ID = bindparam("client_id", type_=String)
_SECRET_HASH = bindparam("secret_hash", type_=LargeBinary)
_GENERATION = bindparam("generation", type_=Uuid)

_ADD = compile_query(
    insert(ApiClient)
    .values(
        client_id=_CLIENT_ID,
        name=bindparam("name", type_=String),
        user_id=bindparam("user_id", type_=BigInteger),
        scopes=bindparam("scopes", type_=Text),
        secret_hash=_SECRET_HASH,
        generation=_GENERATION,
        api_version=bindparam("api_version", type_=Text),
    )
    .returning(*COLUMNS)
)
_PIN = compile_query(
    update(ApiClient)
    .where(ApiClient.id == _ID)
    .values(api_version=bindparam("api_version", type_=Text))
    .returning(*COLUMNS)
)
_LIST = compile_query(select(*COLUMNS).order_by(ApiClient.id))
_CREDENTIALS = compile_query(
    select(*COLUMNS, ApiClient.secret_hash, ApiClient.generation).where(
        ApiClient.client_id == _CLIENT_ID
    )
)
_ROTATE = compile_query(
    update(ApiClient)
    .where(ApiClient.id == _ID)
    .values(secret_hash=_SECRET_HASH, generation=_GENERATION)
    .returning(*COLUMNS)
)
_DELETE = compile_query(delete(ApiClient).where(ApiClient.id == _ID).returning(ApiClient.id))
# The guard's one statement for a client's token: the user's role and state, the client's
# pinned API version while it still exists at the generation the token names (else NULL),
# and whether the token was revoked.
_PRINCIPAL_COLUMNS = (
    User.id,
    User.role,
    User.is_active,
    select(ApiClient.api_version)
    .where(
        ApiClient.client_id == _CLIENT_ID,
        ApiClient.generation == _GENERATION,
        ApiClient.user_id == User.id,
    )
    .correlate(User)
    .scalar_subquery(),
    exists().where(RevokedAccessToken.jti == bindparam("jti", type_=Uuid)),
)
_PRINCIPAL_USER = User.id == bindparam("user_id", type_=BigInteger)
_PRINCIPAL = compile_query(select(*_PRINCIPAL_COLUMNS).where(_PRINCIPAL_USER))
# With read replicas: the same, and the caller's read-your-writes position (replicas.py).
_PRINCIPAL_AND_POSITION = compile_query(
    select(*_PRINCIPAL_COLUMNS, position_of(User.id)).where(_PRINCIPAL_USER)
)


def record(row: Any) -> ClientRecord:
    id_, client_id, name, user_id, scopes, created_at, api_version = row[:7]
    return ClientRecord(
        id_, client_id, name, user_id, frozenset(scopes.split()), created_at, api_version
    )


class ClientRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(
        self,
        *,
        client_id: str,
        name: str,
        user_id: int,
        scopes: str,
        secret_hash: bytes,
        generation: uuid.UUID,
        api_version: str,
    ) -> ClientRecord:
        row = await self._connection.row(
            _ADD,
            client_id=client_id,
            name=name,
            user_id=user_id,
            scopes=scopes,
            secret_hash=secret_hash,
            generation=generation,
            api_version=api_version,
        )
        assert row is not None
        return record(row)

    async def pin(self, id_: int, api_version: str) -> ClientRecord | None:
        row = await self._connection.row(_PIN, id=id_, api_version=api_version)
        return None if row is None else record(row)

    async def all(self) -> list[ClientRecord]:
        return [record(row) for row in await self._connection.rows(_LIST)]

    async def credentials(self, client_id: str) -> ClientCredentials | None:
        row = await self._connection.row(_CREDENTIALS, client_id=client_id)
        if row is None:
            return None
        return ClientCredentials(record(row), bytes(row[7]), row[8])

    async def rotate(
        self, id_: int, *, secret_hash: bytes, generation: uuid.UUID
    ) -> ClientRecord | None:
        row = await self._connection.row(
            _ROTATE, id=id_, secret_hash=secret_hash, generation=generation
        )
        return None if row is None else record(row)

    async def delete(self, id_: int) -> bool:
        return await self._connection.row(_DELETE, id=id_) is not None

    async def principal(
        self, *, user_id: int, client_id: str, generation: uuid.UUID | None, jti: uuid.UUID
    ) -> ClientPrincipalRow | None:
        route = reads.current()
        if route is None:
            row = await self._connection.row(
                _PRINCIPAL, user_id=user_id, client_id=client_id, generation=generation, jti=jti
            )
            return None if row is None else ClientPrincipalRow(*row)
        row = await self._connection.row(
            _PRINCIPAL_AND_POSITION,
            user_id=user_id,
            client_id=client_id,
            generation=generation,
            jti=jti,
        )
        if row is None:
            return None
        route.caller, route.position, route.known = row[0], row[5], True
        return ClientPrincipalRow(*row[:5])
