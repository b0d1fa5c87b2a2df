"""Where one request's reads may be served: the faces say what the request is, persistence
decides where it reads (tandem/persistence/replicas.py).

With read replicas (`DATABASE_REPLICA_URLS`), each HTTP request carries a `ReadRoute`:
the face marks it `read_only` (a REST GET, a GraphQL query), the guard's statement on
the primary fills in the caller and the caller's read-your-writes position (the
primary's WAL position after the caller's last write, from any process), and a write's
commit marks it `wrote`. A read may go to a replica only when the request reads only,
the caller is known, it has not written, and the replica has replayed past the position.

Without replicas `enabled` stays false and no route is ever opened: nothing is added.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

enabled = False  # set once by the composition root when read replicas are configured


@dataclass(slots=True)
class ReadRoute:
    read_only: bool
    forbidden: bool = False  # a mutation or subscription in the request: never a replica
    caller: int | None = None  # the caller's user id, once the guard has found it
    position: int | None = None  # the caller's last write's WAL position (None: none kept)
    known: bool = False  # the guard has read the caller and its position on the primary
    wrote: bool = False  # this request committed a write: its later reads go to the primary

    @property
    def may_use_replica(self) -> bool:
        return self.read_only and self.known and not self.wrote and not self.forbidden


_ROUTE: ContextVar[ReadRoute | None] = ContextVar("tandem_read_route", default=None)


def open_route(*, read_only: bool) -> Token[ReadRoute | None]:
    """The request's route (once per HTTP request, only when replicas are configured)."""
    return _ROUTE.set(ReadRoute(read_only=read_only))


def close_route(opened: Token[ReadRoute | None]) -> None:
    """The request is answered: what runs next in this task is no part of it."""
    _ROUTE.reset(opened)


def current() -> ReadRoute | None:
    return _ROUTE.get()


def operation_reads_only(reads_only: bool) -> None:
    """A GraphQL operation's kind: a query may read from a replica; a mutation or a
    subscription pins the whole request to the primary (a batch mixing them included)."""
    route = _ROUTE.get()
    if route is None:
        return
    if reads_only:
        route.read_only = not route.forbidden
    else:
        route.forbidden, route.read_only = True, False
