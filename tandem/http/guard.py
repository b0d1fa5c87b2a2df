"""The guard: FastAPI's dependency forms of the request's admission (tandem/http/admission.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from tandem.domain.principal import Principal
from tandem.domain.services import Services
from tandem.http.admission import Admission, admission_of
from tandem.http.admission import bearer_token as bearer_token
from tandem.http.routes import admission_step, register_step


def services_of(request: HTTPConnection) -> Services:
    services: Services = request.app.state.services
    return services


async def admitted_services(admission: Admission) -> Services:
    return admission.services


@admission_step(admitted_services)
async def app_services(request: Request) -> Services:
    """The dependency form of `services_of`: `async`, so FastAPI never sends it to a thread."""
    return services_of(request)


class BearerGuard(HTTPBearer):
    """OpenAPI's bearer scheme (the "Authorize" button) and the guard, as one dependency.

    The header is read by the request's admission, not by HTTPBearer, so a malformed
    header is a 401 in the contract's format, and the caller is looked up once per
    request whichever layer asks first (the Idempotency-Key middleware may).
    """

    async def __call__(self, request: Request) -> Principal | None:  # type: ignore[override]
        """No header: anonymous. A bad, expired or revoked token: 401, never quietly anonymous."""
        return await admission_of(request).caller()


# The scheme keeps HTTPBearer's name, so the published OpenAPI document names it as before.
current_principal = BearerGuard(
    auto_error=False,
    scheme_name="HTTPBearer",
    description="An access token from /auth/token.",
)


async def admitted_caller(admission: Admission) -> Principal | None:
    return await admission.caller()


register_step(current_principal, admitted_caller)
CurrentPrincipal = Annotated[Principal | None, Depends(current_principal)]


AppServices = Annotated[Services, Depends(app_services)]
