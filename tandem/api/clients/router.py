"""REST routes for partner API clients (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from tandem.api.clients.schemas import (
    ClientCreate,
    ClientOut,
    ClientUpdate,
    ClientWithSecret,
    client_out,
    with_secret,
)
from tandem.api.responses import json_response
from tandem.api.responses_doc import problems
from tandem.api.versioning import known_version
from tandem.domain.clients.commands import CreateClient
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge_signed_in_call
from tandem.http.routes import AdmittedRoute
from tandem.http.versions import NEWEST

router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/clients",
    tags=["clients"],
    dependencies=[Depends(charge_signed_in_call)],
)
ClientId = Path(ge=1, le=2**63 - 1)
NO_STORE = {"Cache-Control": "no-store"}  # an answer holding a secret is kept by no cache


@router.post(
    "",
    status_code=201,
    response_model=ClientWithSecret,
    operation_id="createClient",
    responses=problems(403, body=True),
)
async def create_client(
    body: ClientCreate, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """Create an API client acting for a user; its `client_secret` is in this answer only."""
    command = CreateClient(
        name=body.name, user_id=body.user_id, scopes=list(body.scopes), api_version=str(NEWEST)
    )
    issued = await services.clients.create(principal, command)
    return json_response(with_secret(issued), status=201, headers=NO_STORE)


@router.get("", response_model=list[ClientOut], operation_id="listClients", responses=problems(403))
async def list_clients(principal: CurrentPrincipal, services: AppServices) -> Response:
    """Every API client, oldest first; secrets are never listed."""
    clients = await services.clients.list(principal)
    body = b"[" + b",".join(client_out(c).model_dump_json().encode() for c in clients) + b"]"
    return Response(body, media_type="application/json")


@router.patch(
    "/{client_id}",
    response_model=ClientOut,
    operation_id="updateClient",
    responses=problems(403, 404, body=True),
)
async def update_client(
    body: ClientUpdate,
    principal: CurrentPrincipal,
    services: AppServices,
    client_id: int = ClientId,
) -> Response:
    """Move the client's pinned `api_version` forward (never back): its requests that name
    no `Tandem-Version` are served in it from now on."""
    api_version = known_version(body.api_version)
    client = await services.clients.pin_version(principal, client_id, api_version)
    return json_response(client_out(client))


@router.post(
    "/{client_id}/rotate-secret",
    response_model=ClientWithSecret,
    operation_id="rotateClientSecret",
    responses=problems(403, 404, 422),
)
async def rotate_client_secret(
    principal: CurrentPrincipal, services: AppServices, client_id: int = ClientId
) -> Response:
    """A new secret, shown once; the old secret and the tokens it got stop working at once."""
    issued = await services.clients.rotate_secret(principal, client_id)
    return json_response(with_secret(issued), headers=NO_STORE)


@router.delete(
    "/{client_id}",
    status_code=204,
    operation_id="deleteClient",
    responses=problems(403, 404, 422),
)
async def delete_client(
    principal: CurrentPrincipal, services: AppServices, client_id: int = ClientId
) -> Response:
    """Revoke a client: its secret and every token it holds stop working at once."""
    await services.clients.revoke(principal, client_id)
    return Response(status_code=204)
