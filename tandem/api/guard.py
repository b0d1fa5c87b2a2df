"""The one guard: `Authorization: Bearer` to a Principal, for REST routes and GraphQL alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from tandem.domain.errors import InvalidToken
from tandem.domain.principal import Principal, signed_in
from tandem.domain.services import Services

# Declared for OpenAPI's "Authorize" button; the parsing below is ours, so a bad header is a 401.
bearer_scheme = HTTPBearer(auto_error=False, description="An access token from /auth/token.")


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def current_principal(
    request: Request, _: Annotated[object, Depends(bearer_scheme)] = None
) -> Principal | None:
    """No header: anonymous. A bad, expired or revoked token: 401, never quietly anonymous."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("The Authorization header must be 'Bearer <access token>'.")
    return await services_of(request).auth.authenticate(token)


CurrentPrincipal = Annotated[Principal | None, Depends(current_principal)]


async def require_signed_in(principal: CurrentPrincipal) -> None:
    """Run before the body is read, so an anonymous caller hears 401 before anything else.

    The rule is the domain's (`signed_in`); this only asks it first.
    """
    signed_in(principal)


AppServices = Annotated[Services, Depends(services_of)]
