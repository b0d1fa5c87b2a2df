"""REST route for the request log (like Stripe's): a caller's own recent requests, newest first."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.paging import next_link
from tandem.api.requests.schemas import RequestPage
from tandem.api.responses_doc import LINK, problems, success_headers
from tandem.domain.documents import iso
from tandem.domain.pages import MAX_PAGE_SIZE
from tandem.domain.requests.records import LoggedRequest
from tandem.domain.requests.service import request_id_text
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge_signed_in_call
from tandem.http.routes import AdmittedRoute

router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/requests",
    tags=["requests"],
    dependencies=[Depends(charge_signed_in_call)],
)


def request_document(logged: LoggedRequest) -> dict[str, Any]:
    entry = logged.entry
    return {
        "id": request_id_text(logged.id),
        "created_at": iso(entry.at),
        "method": entry.method,
        "route": entry.route,
        "status": entry.status,
        "error_code": entry.error_code,
        "request_id": entry.request_id,
        "idempotency_key": entry.idempotency_key,
        "duration_ms": entry.duration_ms,
        "user_id": entry.user_id,
        "client_id": entry.client_id,
    }


@router.get(
    "",
    response_model=RequestPage,
    operation_id="listRequests",
    responses=problems(403, 422),
    openapi_extra=success_headers(200, Link=LINK),
)
async def list_requests(
    request: Request,
    principal: CurrentPrincipal,
    services: AppServices,
    after: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^req_[0-9]{1,18}$",
            description="A request log id (`next_cursor`): list older requests",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    user_id: Annotated[
        int | None,
        Query(ge=1, le=2**53 - 1, description="Administrators: one user's requests"),
    ] = None,
) -> Response:
    """Your recent requests (every token and client of your account), newest first.

    Kept 7 days: failures always; successes unless the server is shedding load. No
    bodies, no headers but the idempotency key. A line appears about a second after
    its answer. Administrators see every user's, or one's with `user_id`.
    """
    page = await services.requests.list(principal, user_id=user_id, after=after, limit=limit)
    headers = next_link(request, page.next_cursor, param="after", drop=())
    body = {
        "items": [request_document(logged) for logged in page.requests],
        "has_more": page.has_more,
        "next_cursor": page.next_cursor,
    }
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)
