"""Every statement about users."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Integer,
    any_,
    bindparam,
    delete,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from tandem.domain.pages import Rows
from tandem.domain.users.records import Role, UserCredentials, UserRecord
from tandem.persistence import records
from tandem.persistence.sql import Connection, Query, as_params, compile_query, settable
from tandem.persistence.users.models import User

COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.role,
    User.is_active,
    User.created_at,
    User.updated_at,
)
_TABLE = User.__table__
_ID = bindparam("user_id", type_=BigInteger)

_ADD = compile_query(
    insert(User)
    .values(settable(_TABLE, ["email", "name", "password_hash", "role"]))
    .on_conflict_do_nothing(index_elements=[User.email])
    .returning(*COLUMNS)
)
_GET = compile_query(select(*COLUMNS).where(User.id == _ID))
_GET_MANY = compile_query(
    select(*COLUMNS).where(User.id == any_(bindparam("user_ids", type_=ARRAY(BigInteger))))
)
# Emails are stored in their one normal form (domain.users.rules.normalise_email), and
# the caller looks them up in it: compared exactly, with no folding of the database's.
_CREDENTIALS = compile_query(
    select(User.id, User.password_hash, User.is_active).where(User.email == bindparam("email"))
)
_PASSWORD_HASH = compile_query(select(User.password_hash).where(User.id == _ID))
_COUNT = compile_query(select(func.count()).select_from(User))
_PAGE = compile_query(
    select(*COLUMNS)
    .order_by(User.id)
    .offset(bindparam("offset", type_=BigInteger))
    .limit(bindparam("limit", type_=Integer))
)


@lru_cache(maxsize=8)
def _keyset(backward: bool, positioned: bool, look_behind: bool) -> Query:
    """Up to `limit` users after `after_id` in id order (`backward`: before it, nearest
    first); `look_behind` adds the nearest user on the other side, flagged, in one statement."""
    after_id = bindparam("after_id", type_=BigInteger)
    limit = bindparam("limit", type_=Integer)

    def part(flag: int, *, before: bool, inclusive: bool) -> Any:
        statement = select(*COLUMNS, *((literal(flag).label("behind"),) if look_behind else ()))
        if positioned:
            if before:
                bound = User.id <= after_id if inclusive else User.id < after_id
            else:
                bound = User.id >= after_id if inclusive else User.id > after_id
            statement = statement.where(bound)
        return statement.order_by(User.id.desc() if before else User.id.asc())

    page = part(0, before=backward, inclusive=False).limit(limit)
    if not (look_behind and positioned):
        return compile_query(page)
    behind = part(1, before=not backward, inclusive=True).limit(1)
    return compile_query(union_all(page, behind))


_DELETE = compile_query(delete(User).where(User.id == _ID).returning(User.id))
_UNCHANGED_SINCE = bindparam("expected_updated_at", type_=DateTime(timezone=True))
# A precondition (If-Match) holds in the write itself: no lock, so no lock order to keep.
_DELETE_IF_UNCHANGED = compile_query(
    delete(User).where(User.id == _ID, User.updated_at == _UNCHANGED_SINCE).returning(User.id)
)
# Every active admin is locked, this user included, in id order: two admins demoting
# themselves at once then wait for each other instead of deadlocking.
_LOCK_ADMINS = compile_query(
    select(User.id)
    .where(User.role == Role.ADMIN, User.is_active.is_(True))
    .order_by(User.id)
    .with_for_update()
)


@lru_cache(maxsize=64)
def _update(names: tuple[str, ...], guarded: bool = False) -> Query:
    condition = [User.id == _ID, *([User.updated_at == _UNCHANGED_SINCE] if guarded else [])]
    return compile_query(
        update(User)
        .where(*condition)
        .values({**settable(_TABLE, names), "updated_at": func.now()})
        .returning(*COLUMNS)
    )


record = records.maker(UserRecord, records.names_of(COLUMNS))  # a row, by column name


class UserRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(
        self, *, email: str, name: str, password_hash: str, role: str
    ) -> UserRecord | None:
        """Insert a user; None when the email (already normalised) is taken."""
        given = {"email": email, "name": name, "password_hash": password_hash, "role": role}
        row = await self._connection.row(_ADD, **as_params(given))
        return None if row is None else record(row)

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._connection.row(_GET, user_id=user_id)
        return None if row is None else record(row)

    async def get_many(self, user_ids: list[int]) -> list[UserRecord]:
        """The users with these ids, in no particular order (missing ids are skipped)."""
        return [record(row) for row in await self._connection.rows(_GET_MANY, user_ids=user_ids)]

    async def credentials(self, email: str) -> UserCredentials | None:
        """The sign-in facts of the user with exactly this (normalised) email."""
        row = await self._connection.row(_CREDENTIALS, email=email)
        return None if row is None else UserCredentials(*row)

    async def password_hash(self, user_id: int) -> str | None:
        value: str | None = await self._connection.value(_PASSWORD_HASH, user_id=user_id)
        return value

    async def page(self, *, offset: int, limit: int) -> tuple[list[UserRecord], int]:
        total = await self.count()
        rows = await self._connection.rows(_PAGE, offset=offset, limit=limit)
        return [record(row) for row in rows], total

    async def keyset(
        self,
        *,
        after_id: int | None,
        limit: int,
        backward: bool = False,
        look_behind: bool = False,
    ) -> Rows[UserRecord]:
        """Users in id order after `after_id` (`backward`: before it, nearest first)."""
        positioned = after_id is not None
        query = _keyset(backward, positioned, look_behind)
        params = {"after_id": after_id} if positioned else {}
        rows = await self._connection.rows(query, limit=limit, **params)
        sided = look_behind and positioned
        return Rows(
            [record(row) for row in rows if not (sided and row[-1])],
            behind=sided and any(row[-1] for row in rows),
        )

    async def count(self) -> int:
        return int(await self._connection.value(_COUNT) or 0)

    async def update(
        self, user_id: int, values: dict[str, Any], *, unchanged_since: datetime | None = None
    ) -> UserRecord | None:
        """The updated user; None when gone, or changed since `unchanged_since` if given."""
        query = _update(tuple(sorted(values)), unchanged_since is not None)
        guard = {} if unchanged_since is None else {"expected_updated_at": unchanged_since}
        row = await self._connection.row(query, user_id=user_id, **guard, **as_params(values))
        return None if row is None else record(row)

    async def delete(self, user_id: int, *, unchanged_since: datetime | None = None) -> bool:
        if unchanged_since is None:
            return await self._connection.row(_DELETE, user_id=user_id) is not None
        row = await self._connection.row(
            _DELETE_IF_UNCHANGED, user_id=user_id, expected_updated_at=unchanged_since
        )
        return row is not None

    async def other_active_admins(self, user_id: int) -> int:
        """How many active admins there are besides this user (locked, so two demotions queue)."""
        rows = await self._connection.rows(_LOCK_ADMINS)
        return sum(1 for row in rows if row[0] != user_id)
