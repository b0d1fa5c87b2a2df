"""The GraphQL context: the request's admission, its caller, the services, the loaders."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from functools import cached_property
from typing import Any

import orjson
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from tandem.domain.errors import DomainError
from tandem.domain.items.commands import ItemQuery
from tandem.domain.items.rules import search_terms
from tandem.domain.principal import Principal, signed_in
from tandem.domain.services import Services
from tandem.graphql.loaders import Loaders
from tandem.http.admission import Admission, admission_of


class Context(BaseContext):
    def __init__(self, *, admission: Admission, principal: Principal | None) -> None:
        super().__init__()
        self.admission = admission
        self.principal = principal
        self.rejected = False  # a WebSocket whose handshake carried a bad token
        # What the operation really cost (extensions.cost): the lists resolved, and of those
        # the ones that searched (each priced SEARCH_COST more, as it was charged).
        self.connections_resolved = 0
        self.searches_resolved = 0

    def resolving(self, query: ItemQuery | None = None) -> None:
        """A connection is being resolved: count it, and count a search among them."""
        self.connections_resolved += 1
        if query is not None and query.q and search_terms(query.q):
            self.searches_resolved += 1

    @property
    def services(self) -> Services:
        return self.admission.services

    @property
    def token(self) -> str | None:
        """The bearer token, for subscriptions, which check it again while they run."""
        return self.admission.token

    @property
    def request_id(self) -> str | None:
        return self.admission.request_id or None

    @property
    def address(self) -> str | None:
        return self.admission.address

    async def readmit(self) -> Principal:
        """Admit this context's credential again, as a new operation would be: the caller from
        the token's current state (revoked, expired, deactivated, role, scopes).

        InvalidToken (UNAUTHENTICATED) when it no longer holds, Unavailable when it cannot
        be checked now. The hook for a running subscription to recheck its caller.
        """
        admission = self.admission.again(credential=self.admission.credential)
        return signed_in(await admission.caller())

    @cached_property
    def loaders(self) -> Loaders:
        """Created on first use, so a query that loads nothing builds no loaders."""
        return Loaders(self.services, self.principal)


async def get_context(connection: HTTPConnection) -> Context:
    """The request's admission and its caller, for a request and for a WebSocket's handshake.

    Over HTTP a bad token is the guard's 401. A WebSocket's token comes in
    connection_init (see tandem/graphql/sockets.py); one sent as a handshake header
    is read the same way, and a bad one makes connection_init close the socket (4403).
    """
    admission = admission_of(connection)
    rejected = False
    try:
        principal = await admission.caller()
    except DomainError:
        if connection.scope["type"] == "http":
            raise
        principal, rejected = None, True
    context = Context(admission=admission, principal=principal)
    context.rejected = rejected
    return context


def request_session(request: HTTPConnection, parsed: Any) -> AbstractAsyncContextManager[None]:
    """The request's database session (tandem/persistence/database.py) when it runs only
    queries: its admission, its resolvers and the DataLoaders' batches, in their tasks,
    then take turns on one pooled connection. A request that may run a mutation borrows
    per block instead, as a REST write does: a mutation may wait on more than the database
    (a password's hashing, a reset's fixed answer time), with no connection held meanwhile.
    """
    if runs_only_queries(request, parsed):
        return admission_of(request).services.database.session()
    return nullcontext()


def runs_only_queries(request: HTTPConnection, parsed: Any) -> bool:
    """Surely no mutation, nor an event stream: a GET (a mutation is refused there before it
    runs), or a POST whose every operation's text (one, or a batch) lacks the word; `parsed`
    is the POST's body as JSON. A document named only by its hash, or a body that does not
    parse, is not known to be."""
    accept = request.headers.get("accept")
    if accept is not None and "event-stream" in accept.lower():
        return False
    if request.scope["method"] == "GET":
        return True
    if isinstance(parsed, orjson.JSONDecodeError):
        return False
    for operation in parsed if isinstance(parsed, list) else (parsed,):
        query = operation.get("query") if isinstance(operation, dict) else None
        if not isinstance(query, str) or "mutation" in query:
            return False
    return True


Info = StrawberryInfo[Context, None]
