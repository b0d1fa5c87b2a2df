"""The GraphQL context: the principal from the one guard, the services, the loaders."""

from __future__ import annotations

from functools import cached_property

from fastapi import Request
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from tandem.domain.principal import Principal
from tandem.domain.services import Services
from tandem.graphql.loaders import Loaders
from tandem.http.guard import CurrentPrincipal, services_of


class Context(BaseContext):
    def __init__(
        self,
        *,
        services: Services,
        principal: Principal | None,
        request_id: str | None,
        address: str | None,
    ) -> None:
        super().__init__()
        self.services = services
        self.principal = principal
        self.request_id = request_id
        self.address = address
        self.connections_resolved = 0  # what the operation really cost (extensions.cost)

    @cached_property
    def loaders(self) -> Loaders:
        """Created on first use, so a query that loads nothing builds no loaders."""
        return Loaders(self.services, self.principal)


async def get_context(request: Request, principal: CurrentPrincipal) -> Context:
    """The same dependency REST uses: the same token gives the same principal on both faces."""
    return Context(
        services=services_of(request),
        principal=principal,
        request_id=request.scope.get("state", {}).get("request_id"),
        address=request.client.host if request.client else None,
    )


Info = StrawberryInfo[Context, None]
