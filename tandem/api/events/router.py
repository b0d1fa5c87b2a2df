"""REST routes for events (like Stripe's /v1/events): what changed, oldest first."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.events.schemas import EventOut, EventPage
from tandem.api.paging import next_link
from tandem.api.responses_doc import LINK, problems, success_headers
from tandem.api.versioning import served_version
from tandem.domain.events.documents import event_document
from tandem.domain.events.records import EventRecord
from tandem.domain.pages import MAX_PAGE_SIZE
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge_signed_in_call
from tandem.http.routes import AdmittedRoute
from tandem.http.versions.render import event_shape

# What `parse_types` (tandem/domain/events/service.py) reads: `*` or blank for every type.
_TYPE = r"item\.(created|updated|deleted|\*)"
TYPES = {"pattern": rf"^\s*(\*?|{_TYPE}(\s*,\s*{_TYPE})*)\s*$"}
router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/events",
    tags=["events"],
    dependencies=[Depends(charge_signed_in_call)],
)


def _shown(request: Request, events: list[EventRecord]) -> list[dict[str, object]]:
    """The events' documents in the version serving the request."""
    shape = event_shape(served_version(request))
    documents = [event_document(event) for event in events]
    return documents if shape is None else [shape(document) for document in documents]


def _json(document: object, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(document), media_type="application/json", headers=headers)


@router.get(
    "",
    response_model=EventPage,
    operation_id="listEvents",
    responses=problems(403, 422),
    openapi_extra=success_headers(200, Link=LINK),
)
async def list_events(
    request: Request,
    principal: CurrentPrincipal,
    services: AppServices,
    type: Annotated[
        str | None,
        Query(
            max_length=200,
            description="item.created, item.updated, item.deleted, a list of them, or item.*",
            json_schema_extra=TYPES,
        ),
    ] = None,
    after: Annotated[
        str | None, Query(max_length=64, description="An event id: list the events after it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Response:
    """Events you may see (your items', and every published or archived item's), oldest first.

    Page with `after=<next_cursor>`; at the end of the stream `next_cursor` is null,
    and polling with the last id you saw returns what happened since.
    """
    page = await services.events.list(principal, type=type, after=after, limit=limit)
    headers = next_link(request, page.next_cursor, param="after", drop=())
    body = {
        "items": _shown(request, page.events),
        "has_more": page.has_more,
        "next_cursor": page.next_cursor,
    }
    return _json(body, headers)


@router.get(
    "/{event_id}",
    response_model=EventOut,
    operation_id="getEvent",
    responses=problems(403, 404, 422),
)
async def read_event(
    request: Request,
    principal: CurrentPrincipal,
    services: AppServices,
    event_id: Annotated[str, Path(max_length=64)],
) -> Response:
    return _json(_shown(request, [await services.events.get(principal, event_id)])[0])
