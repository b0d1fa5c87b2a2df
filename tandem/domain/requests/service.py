"""The request log's use case: a caller reads its own user's recent requests.

Any token of the user reads the whole user's log (every token and client of it),
as Stripe's request log is per account; an administrator may read any user's, or all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tandem.domain.errors import Forbidden, ValidationFailed
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.pages import MAX_PAGE_SIZE
from tandem.domain.principal import USERS_READ, Principal, signed_in
from tandem.domain.requests.records import LoggedRequest
from tandem.domain.store import Store
from tandem.domain.wording import number

KEEP_FOR = timedelta(days=7)  # the worker purges what is older (tandem/worker/runner.py)
PURGE_BATCH = 5_000
_CURSOR_PREFIX = "req_"


@dataclass(frozen=True, slots=True)
class RequestSlice:
    requests: list[LoggedRequest]
    has_more: bool

    @property
    def next_cursor(self) -> str | None:
        """What to pass as `after` for older requests; None when there are none."""
        return request_id_text(self.requests[-1].id) if self.has_more else None


def request_id_text(log_id: int) -> str:
    """The public id of a log line (`req_…`), which is also its cursor."""
    return f"{_CURSOR_PREFIX}{log_id}"


def _parse_after(after: str) -> int:
    digits = after[len(_CURSOR_PREFIX) :] if after.startswith(_CURSOR_PREFIX) else ""
    if not digits.isdigit() or len(digits) > 18:
        raise ValidationFailed.one(("after",), "is not a request log cursor", "cursor")
    return int(digits)


class RequestLogService:
    def __init__(self, *, database: ScopedStore) -> None:
        self._database = database

    async def list(
        self,
        principal: Principal | None,
        *,
        user_id: int | None,
        after: str | None,
        limit: int,
    ) -> RequestSlice:
        """The caller's user's requests, newest first; `user_id` is for administrators."""
        caller = signed_in(principal, scope=USERS_READ)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationFailed.one(("limit",), number(1, MAX_PAGE_SIZE), "range")
        if user_id is not None and user_id != caller.user_id and not caller.is_admin:
            raise Forbidden("Only administrators may read another user's requests.")
        whose = caller.user_id if user_id is None and not caller.is_admin else user_id
        before = _parse_after(after) if after is not None else None
        async with self._database.reader() as uow:
            rows = await uow.requests.newest_first(user_id=whose, before=before, limit=limit + 1)
        return RequestSlice(rows[:limit], len(rows) > limit)


async def purge_request_log(store: Store, *, older_than: timedelta = KEEP_FOR) -> int:
    """Forget request log lines older than `older_than`, in batches; how many went."""
    before = datetime.now(UTC) - older_than
    purged = 0
    while True:
        async with store.transaction() as uow:
            count = await uow.requests.purge(older_than=before, limit=PURGE_BATCH)
        purged += count
        if count < PURGE_BATCH:
            return purged
