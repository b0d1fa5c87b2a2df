"""One line of a caller's request log: what was asked and what was answered, never a body."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class RequestEntry(NamedTuple):
    """A finished request of a signed-in caller, as the log keeps it.

    A tuple, not a dataclass: a second's lines wait in memory before they are written, and
    a tuple of plain values is dropped from the garbage collector's watch where a slotted
    dataclass stays tracked; those lines alone made every request 4 to 7% dearer
    (docs/performance.md, "The request log's cost"). The tuple is also COPY's row as is.
    """

    at: datetime
    user_id: int
    client_id: str | None  # the partner API client that called, if one did
    method: str
    route: str  # the route's template (`/api/v1/items/{item_id}`), never the raw path
    status: int
    error_code: str | None  # the answer's `code` (REST) or first `extensions.code` (GraphQL)
    request_id: str
    idempotency_key: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """A logged request with the id that orders the log (newest first) and pages it."""

    id: int
    entry: RequestEntry
