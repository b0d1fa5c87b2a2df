"""What the request log needs from storage; tandem/persistence/requests implements it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tandem.domain.requests.records import LoggedRequest, RequestEntry


class RequestLogStore(Protocol):
    async def append(self, entries: Sequence[RequestEntry]) -> None:
        """Write the entries in one statement."""

    async def newest_first(
        self, *, user_id: int | None, before: int | None, limit: int
    ) -> list[LoggedRequest]:
        """Up to `limit` entries of `user_id` (None: every user's), newest first, below `before`."""

    async def purge(self, *, older_than: datetime, limit: int) -> int:
        """Delete up to `limit` entries logged before `older_than`; how many went."""
