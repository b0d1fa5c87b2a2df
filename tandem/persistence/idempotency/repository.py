"""Every statement about idempotency keys: the in-flight lock, the stored answer, the purge."""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB

from tandem.domain.idempotency.records import (
    Authority,
    IdempotentRequest,
    StoredAnswer,
    StoredKey,
)
from tandem.persistence.idempotency.models import IdempotencyKey
from tandem.persistence.sql import Connection, compile_query

_SUBJECT = bindparam("subject", type_=Text)
_KEY_HASH = bindparam("key_hash", type_=LargeBinary)

# Held until the transaction ends, so a duplicate that arrives meanwhile is told "in use"
# at once instead of queueing behind the first; released by the commit or the rollback.
_TRY_LOCK = compile_query(
    select(func.pg_try_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)))
)
_FIND = compile_query(
    select(
        IdempotencyKey.fingerprint,
        IdempotencyKey.status,
        IdempotencyKey.headers,
        IdempotencyKey.body,
        IdempotencyKey.authority,
    ).where(IdempotencyKey.subject == _SUBJECT, IdempotencyKey.key_hash == _KEY_HASH)
)
_STORE = compile_query(
    insert(IdempotencyKey).values(
        subject=_SUBJECT,
        key_hash=_KEY_HASH,
        fingerprint=bindparam("fingerprint", type_=LargeBinary),
        status=bindparam("status", type_=SmallInteger),
        headers=bindparam("headers", type_=JSONB),
        body=bindparam("body", type_=LargeBinary),
        authority=bindparam("authority", type_=Text),
    )
)
# In batches, so a purge of a large backlog never holds one huge transaction's locks.
_PURGE = compile_query(
    delete(IdempotencyKey).where(
        tuple_(IdempotencyKey.subject, IdempotencyKey.key_hash).in_(
            select(IdempotencyKey.subject, IdempotencyKey.key_hash)
            .where(IdempotencyKey.created_at < bindparam("before", type_=DateTime(timezone=True)))
            .limit(bindparam("batch", type_=Integer))
        )
    )
)


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def lock_id(request: IdempotentRequest) -> int:
    """A 64-bit name for (subject, key); a collision only makes a request wait its turn (409)."""
    material = f"{request.subject}\x00{request.key}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big", signed=True)


class IdempotencyRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def try_lock(self, request: IdempotentRequest) -> bool:
        """Take the key for this transaction; False when another transaction holds it."""
        return bool(await self._connection.value(_TRY_LOCK, lock_id=lock_id(request)))

    async def find(self, request: IdempotentRequest) -> StoredKey | None:
        row = await self._connection.row(
            _FIND, subject=request.subject, key_hash=key_hash(request.key)
        )
        if row is None:
            return None
        fingerprint, status, headers, body, authority = row
        return StoredKey(
            bytes(fingerprint),
            StoredAnswer(status, orjson.loads(headers), bytes(body)),
            Authority.parse(authority),
        )

    async def store(self, request: IdempotentRequest, answer: StoredAnswer) -> None:
        await self._connection.execute(
            _STORE,
            subject=request.subject,
            key_hash=key_hash(request.key),
            fingerprint=request.fingerprint,
            status=answer.status,
            headers=orjson.dumps(answer.headers).decode(),  # asyncpg takes JSON as text
            body=answer.body,
            authority=request.authority.text(),
        )

    async def purge(self, *, before: datetime, batch: int) -> int:
        """Delete up to `batch` keys stored before `before`; how many went."""
        status = await self._connection.execute(_PURGE, before=before, batch=batch)
        return int(status.split()[-1])
