"""The GraphQL context: the principal from the one guard, the services, the loaders."""

from __future__ import annotations

from functools import cached_property

from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from tandem.domain.errors import DomainError
from tandem.domain.principal import Principal
from tandem.domain.services import Services
from tandem.graphql.loaders import Loaders
from tandem.http.guard import bearer_token, principal_of, services_of


class Context(BaseContext):
    def __init__(
        self,
        *,
        services: Services,
        principal: Principal | None,
        request_id: str | None,
        address: str | None,
        token: str | None = None,
    ) -> None:
        super().__init__()
        self.services = services
        self.principal = principal
        self.token = token  # kept for subscriptions, which check it again while they run
        self.request_id = request_id
        self.address = address
        self.rejected = False  # a WebSocket whose handshake carried a bad token
        self.connections_resolved = 0  # what the operation really cost (extensions.cost)

    @cached_property
    def loaders(self) -> Loaders:
        """Created on first use, so a query that loads nothing builds no loaders."""
        return Loaders(self.services, self.principal)


async def get_context(connection: HTTPConnection) -> Context:
    """The guard's own rule (`principal_of`), for a request and for a WebSocket's handshake.

    Over HTTP a bad token is the guard's 401. A WebSocket's token comes in
    connection_init (see tandem/graphql/sockets.py); one sent as a handshake header
    is read the same way, and a bad one makes connection_init close the socket (4403).
    """
    services = services_of(connection)
    header = connection.headers.get("authorization")
    state = connection.scope.get("state", {})
    rejected = False
    # The Idempotency-Key middleware (tandem/http/idempotency.py) may have found it already.
    principal: Principal | None = state.get("principal")
    if principal is None:
        try:
            principal = await principal_of(services, header)
        except DomainError:
            if connection.scope["type"] == "http":
                raise
            principal, rejected = None, True
    context = Context(
        services=services,
        principal=principal,
        request_id=connection.scope.get("state", {}).get("request_id"),
        address=connection.client.host if connection.client else None,
        token=bearer_token(header),
    )
    context.rejected = rejected
    return context


Info = StrawberryInfo[Context, None]
