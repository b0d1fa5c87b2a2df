"""REST routes for items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.items.render import cursor_page_json, expanded_json, item_json, offset_page_json
from tandem.api.items.schemas import (
    EXPAND_DESCRIPTION,
    Expandable,
    ItemCreate,
    ItemExpanded,
    ItemFilterQuery,
    ItemOut,
    ItemPage,
    ItemUpdate,
    etag,
    version_in,
)
from tandem.api.paging import Cursor, PageNumber, cursor_window, next_link
from tandem.api.responses import conditional, json_response
from tandem.api.responses_doc import (
    CONDITIONAL_READ,
    ETAG,
    LINK,
    LOCATION,
    NOT_MODIFIED,
    problems,
    success_headers,
)
from tandem.api.versioning import served_version
from tandem.domain.errors import NotFound, PreconditionFailed, ValidationFailed
from tandem.domain.items.commands import CreateItem, ItemQuery, UpdateItem
from tandem.domain.items.records import DEFAULT_SORT, ItemSort
from tandem.domain.items.rules import search_terms
from tandem.domain.pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tandem.domain.principal import Principal
from tandem.domain.rate_limits import SEARCH_COST
from tandem.domain.services import Services
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge, charge_signed_in_call
from tandem.http.routes import AdmittedRoute
from tandem.http.versions.render import Shape, item_shape

router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/items",
    tags=["items"],
    dependencies=[Depends(charge_signed_in_call)],
)
ItemId = Path(ge=1, le=2**63 - 1)
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="An ETag from a read: 412 when stale")
]
SORT_DESCRIPTION = "The order; `relevance` (best match first) needs `q`"


@router.get(
    "",
    response_model=ItemPage,
    operation_id="listItems",
    responses={**NOT_MODIFIED, **problems(403, 422)},
    openapi_extra={**CONDITIONAL_READ, **success_headers(200, ETag=ETAG, Link=LINK)},
)
async def list_items(
    request: Request,
    principal: CurrentPrincipal,
    services: AppServices,
    page: PageNumber = None,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    filters: Annotated[ItemFilterQuery, Query()] = ItemFilterQuery(),
    sort: Annotated[ItemSort, Query(description=SORT_DESCRIPTION)] = DEFAULT_SORT,
    expand: Annotated[list[Expandable] | None, Query(description=EXPAND_DESCRIPTION)] = None,
) -> Response:
    """Items you may see: every published and archived item, and your own drafts.

    Page by number (`page`, with `total`), or by `cursor` (keyset: stable while items
    come and go, and no count); either way `next_cursor` and the `Link` header continue.
    """
    if filters.q is not None and search_terms(filters.q):
        await charge(request, principal, SEARCH_COST)  # on top of the call's point
    query = ItemQuery(**filters.model_dump(), sort=sort)
    owners = bool(expand)
    shape = item_shape(served_version(request))
    if cursor is not None:
        if page is not None:
            raise ValidationFailed.one(
                ("query", "page"), "give page or cursor, not both", "value_error"
            )
        body, next_cursor = await _cursor_page(
            services, principal, query, cursor, size, owners, shape
        )
    else:
        body, next_cursor = await _offset_page(
            services, principal, query, page or 1, size, owners, shape
        )
    answer = conditional(request, body)
    answer.headers.update(next_link(request, next_cursor))
    return answer


async def _offset_page(
    services: Services,
    principal: Principal | None,
    query: ItemQuery,
    page: int,
    size: int,
    owners: bool,
    shape: Shape | None,
) -> tuple[bytes, str | None]:
    result = await services.items.page(principal, query, page=page, size=size, owners=owners)
    body = offset_page_json(result, result.owners if owners else None, shape)
    return body, result.next_cursor


async def _cursor_page(
    services: Services,
    principal: Principal | None,
    query: ItemQuery,
    cursor: str,
    size: int,
    owners: bool,
    shape: Shape | None,
) -> tuple[bytes, str | None]:
    window = cursor_window(cursor, size)
    result = await services.items.slice(principal, query, window, owners=owners)
    body = cursor_page_json(result, size, result.owners if owners else None, shape)
    return body, result.next_cursor


@router.post(
    "",
    status_code=201,
    response_model=ItemOut,
    operation_id="createItem",
    responses=problems(403, body=True),
    openapi_extra=success_headers(201, Location=LOCATION, ETag=ETAG),
)
async def create_item(
    request: Request, body: ItemCreate, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """Create an item owned by you (whatever the body says about its owner)."""
    item = await services.items.create(principal, CreateItem(**body.model_dump()))
    location = str(request.url_for("read_item", item_id=str(item.id)))
    shape = item_shape(served_version(request))
    return json_response(
        item_json(item, shape), status=201, headers={"Location": location, "ETag": etag(item)}
    )


@router.get(
    "/{item_id}",
    response_model=ItemExpanded | ItemOut,
    operation_id="getItem",
    responses={**NOT_MODIFIED, **problems(403, 404, 422)},
    openapi_extra={**CONDITIONAL_READ, **success_headers(200, ETag=ETAG)},
)
async def read_item(
    request: Request,
    principal: CurrentPrincipal,
    services: AppServices,
    item_id: int = ItemId,
    expand: Annotated[list[Expandable] | None, Query(description=EXPAND_DESCRIPTION)] = None,
) -> Response:
    """An item you may see. Its `ETag` (that of the read without `expand`) serves `If-Match`."""
    shape = item_shape(served_version(request))
    if expand:  # the item and its owner from one statement; the ETag covers both
        item, owner = await services.items.get_with_owner(principal, item_id)
        return conditional(request, expanded_json(item, owner, shape))
    item = await services.items.get(principal, item_id)
    return conditional(request, item_json(item, shape), tag=etag(item))


@router.patch(
    "/{item_id}",
    response_model=ItemOut,
    operation_id="updateItem",
    responses=problems(403, 404, 412, body=True),
    openapi_extra=success_headers(200, ETag=ETAG),
)
async def update_item(
    request: Request,
    body: ItemUpdate,
    principal: CurrentPrincipal,
    services: AppServices,
    item_id: int = ItemId,
    if_match: IfMatch = None,
) -> Response:
    """Change an item you own. Send `If-Match` with its ETag to refuse lost updates."""
    expected = await _expected_version(services, principal, item_id, if_match)
    command = UpdateItem(**body.model_dump(exclude_unset=True))
    item = await services.items.update(principal, item_id, command, expected_version=expected)
    shape = item_shape(served_version(request))
    return json_response(item_json(item, shape), headers={"ETag": etag(item)})


@router.delete(
    "/{item_id}",
    status_code=204,
    operation_id="deleteItem",
    responses=problems(403, 404, 412, 422),
)
async def delete_item(
    principal: CurrentPrincipal,
    services: AppServices,
    item_id: int = ItemId,
    if_match: IfMatch = None,
) -> Response:
    expected = await _expected_version(services, principal, item_id, if_match)
    await services.items.delete(principal, item_id, expected_version=expected)
    return Response(status_code=204)


async def _expected_version(
    services: Services, principal: Principal | None, item_id: int, if_match: str | None
) -> int | None:
    """The version If-Match asks for: None for none or `*`, 0 (never current) for a foreign tag.

    An item already gone fails any If-Match, `*` included: 412, not 404.
    """
    if if_match is None:
        return None
    versions = {v for tag in if_match.split(",") if (v := version_in(tag, item_id)) is not None}
    if if_match.strip() != "*" and len(versions) <= 1:
        return versions.pop() if versions else 0
    try:
        current = await services.items.get(principal, item_id)
    except NotFound:
        raise PreconditionFailed(
            f"Item {item_id} no longer exists; If-Match cannot hold."
        ) from None
    if if_match.strip() == "*":
        return None
    if current.version not in versions:
        raise PreconditionFailed("None of the If-Match ETags is current.")
    return current.version
