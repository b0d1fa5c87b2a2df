"""The one guard: `Authorization: Bearer` to a Principal, for REST routes and GraphQL alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from tandem.domain.errors import InvalidToken
from tandem.domain.principal import Principal
from tandem.domain.services import Services
from tandem.observability.requests import note_principal


def services_of(request: HTTPConnection) -> Services:
    services: Services = request.app.state.services
    return services


async def app_services(request: Request) -> Services:
    """The dependency form of `services_of`: `async`, so FastAPI never sends it to a thread."""
    return services_of(request)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; None when it is not one."""
    if header is None:
        return None
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def principal_of(services: Services, header: str | None) -> Principal | None:
    """The guard's rule for one `Authorization` value, wherever it came from (a header, or a
    WebSocket's connection_init payload): none is anonymous, a bad one is InvalidToken."""
    if header is None:
        return None
    token = bearer_token(header)
    if token is None:
        raise InvalidToken("The Authorization header must be 'Bearer <access token>'.")
    principal = await services.auth.authenticate(token)
    note_principal(principal.user_id, principal.client_id)  # for the request's log line
    return principal


class BearerGuard(HTTPBearer):
    """OpenAPI's bearer scheme (the "Authorize" button) and the guard, as one dependency.

    The header parsing is ours, not HTTPBearer's, so a malformed header is a 401 in
    the contract's format; being one dependency keeps it cheap on every request.
    """

    async def __call__(self, request: Request) -> Principal | None:  # type: ignore[override]
        """No header: anonymous. A bad, expired or revoked token: 401, never quietly anonymous."""
        known = request.scope.get("state", {}).get("principal")
        if known is not None:  # looked up earlier in this request (tandem/http/idempotency.py)
            principal: Principal = known
            note_principal(principal.user_id, principal.client_id)
            return principal
        return await principal_of(services_of(request), request.headers.get("authorization"))


# The scheme keeps HTTPBearer's name, so the published OpenAPI document names it as before.
current_principal = BearerGuard(
    auto_error=False,
    scheme_name="HTTPBearer",
    description="An access token from /auth/token.",
)

CurrentPrincipal = Annotated[Principal | None, Depends(current_principal)]


AppServices = Annotated[Services, Depends(app_services)]
