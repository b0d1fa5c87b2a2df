"""REST routes for webhook endpoints: register, read, change, delete, rotate, log, redeliver."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.responses import json_response
from tandem.api.responses_doc import LINK, LOCATION, problems, success_headers
from tandem.api.versioning import known_version
from tandem.api.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    PingOut,
    ReplayIn,
    ReplayOut,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecretOut,
    delivery_out,
    ping_out,
    webhook_out,
    with_secret,
)
from tandem.domain.pages import MAX_PAGE_SIZE
from tandem.domain.webhooks.commands import CreateWebhook, ReplayEvents, UpdateWebhook
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge_signed_in_call
from tandem.http.routes import AdmittedRoute
from tandem.http.versions import NEWEST

router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(charge_signed_in_call)],
)
WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class WebhookList(BaseModel):
    items: list[WebhookOut]


@router.post(
    "",
    status_code=201,
    response_model=WebhookWithSecretOut,
    operation_id="createWebhook",
    responses=problems(403, 409, body=True),
    openapi_extra=success_headers(201, Location=LOCATION),
)
async def create_webhook(
    request: Request, body: WebhookCreate, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """Register an endpoint for the events you may see; the answer shows its secret, once."""
    created = await services.webhooks.create(
        principal,
        CreateWebhook(url=body.url, events=list(body.events), api_version=str(NEWEST)),
    )
    location = str(request.url_for("read_webhook", webhook_id=str(created.webhook.id)))
    return json_response(with_secret(created), status=201, headers={"Location": location})


@router.get("", response_model=WebhookList, operation_id="listWebhooks", responses=problems(403))
async def list_webhooks(principal: CurrentPrincipal, services: AppServices) -> Response:
    """Your endpoints (at most 20)."""
    webhooks = await services.webhooks.list(principal)
    return json_response(WebhookList(items=[webhook_out(webhook) for webhook in webhooks]))


@router.get(
    "/{webhook_id}",
    response_model=WebhookOut,
    operation_id="getWebhook",
    responses=problems(403, 404, 422),
)
async def read_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, services: AppServices
) -> Response:
    return json_response(webhook_out(await services.webhooks.get(principal, webhook_id)))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookOut,
    operation_id="updateWebhook",
    responses=problems(403, 404, body=True),
)
async def update_webhook(
    webhook_id: WebhookId, body: WebhookUpdate, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """Change the URL or events, set `active` (true resumes a disabled endpoint), or move
    `api_version` forward."""
    given = body.model_dump(exclude_unset=True, exclude_none=True)
    if "api_version" in given:
        given["api_version"] = known_version(given["api_version"])
    webhook = await services.webhooks.update(principal, webhook_id, UpdateWebhook(**given))
    return json_response(webhook_out(webhook))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    operation_id="deleteWebhook",
    responses=problems(403, 404, 422),
)
async def delete_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, services: AppServices
) -> Response:
    await services.webhooks.delete(principal, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookWithSecretOut,
    operation_id="rotateWebhookSecret",
    responses=problems(403, 404, 422),
)
async def rotate_webhook_secret(
    webhook_id: WebhookId, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """A new secret, shown once. For 24 hours deliveries carry both signatures."""
    return json_response(with_secret(await services.webhooks.rotate_secret(principal, webhook_id)))


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    operation_id="listWebhookDeliveries",
    responses=problems(403, 404, 422),
    openapi_extra=success_headers(200, Link=LINK),
)
async def list_webhook_deliveries(
    request: Request,
    webhook_id: WebhookId,
    principal: CurrentPrincipal,
    services: AppServices,
    after: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="A delivery id: older ones")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Response:
    """The endpoint's deliveries, newest first, each with every attempt made."""
    page = await services.webhooks.deliveries(principal, webhook_id, after=after, limit=limit)
    headers = {}
    if page.next_cursor is not None:
        link = request.url.include_query_params(after=page.next_cursor)
        headers["Link"] = f'<{link}>; rel="next"'
    out = DeliveryPage(
        items=[delivery_out(delivery) for delivery in page.deliveries],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )
    return json_response(out, headers=headers)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    operation_id="redeliverWebhookDelivery",
    responses=problems(403, 404, 409, 422),
)
async def redeliver_webhook_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    principal: CurrentPrincipal,
    services: AppServices,
) -> Response:
    """Send the delivery's event again, now, as a new delivery with the same `webhook-id`."""
    delivery = await services.webhooks.redeliver(principal, webhook_id, delivery_id)
    return json_response(delivery_out(delivery), status=202)


@router.post(
    "/{webhook_id}/ping",
    status_code=202,
    response_model=PingOut,
    operation_id="pingWebhook",
    responses=problems(403, 404, 422),
)
async def ping_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """Send a signed `ping` event now (a disabled endpoint too) and say what it answered."""
    pinged = await services.webhooks.ping(principal, webhook_id)
    return json_response(ping_out(webhook_id, pinged), status=202)


@router.post(
    "/{webhook_id}/replay",
    status_code=202,
    response_model=ReplayOut,
    operation_id="replayWebhookEvents",
    responses=problems(403, 404, 409, body=True),
)
async def replay_webhook_events(
    webhook_id: WebhookId, body: ReplayIn, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """Queue again every event since `since` that this endpoint hears, with its original
    `webhook-id` (receivers skip what they have); at most 1,000 per call, oldest first."""
    command = ReplayEvents(
        since=body.since,
        until=body.until,
        types=None if body.types is None else list(body.types),
    )
    replayed = await services.webhooks.replay(principal, webhook_id, command)
    out = ReplayOut(webhook_id=webhook_id, queued=replayed.queued, next_since=replayed.next_since)
    return json_response(out, status=202)
