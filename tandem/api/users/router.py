"""REST routes for users: the caller's own account, and administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.paging import Cursor, PageNumber, cursor_window, next_link
from tandem.api.responses import conditional, json_response
from tandem.api.responses_doc import (
    CONDITIONAL_READ,
    ETAG,
    LINK,
    NOT_MODIFIED,
    problems,
    success_headers,
)
from tandem.api.schemas import PageOut, page_body
from tandem.api.users.etags import unchanged_since, user_etag
from tandem.api.users.schemas import (
    UserPrivate,
    UserPublic,
    UserUpdate,
    UserUpdateMe,
    private,
    public,
)
from tandem.domain.errors import ValidationFailed
from tandem.domain.pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tandem.domain.users.commands import UpdateMe, UpdateUser
from tandem.domain.users.records import UserRecord
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge_signed_in_call
from tandem.http.routes import AdmittedRoute

router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/users",
    tags=["users"],
    dependencies=[Depends(charge_signed_in_call)],
)
UserId = Path(ge=1, le=2**63 - 1)
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="An ETag from a read: 412 when stale")
]


def _private(request: Request, user: UserRecord) -> Response:
    body = private(user).model_dump_json().encode()
    return conditional(request, body, tag=user_etag(user, private=True))


@router.get(
    "/me",
    response_model=UserPrivate,
    operation_id="getMe",
    summary="Read your account",
    responses={**NOT_MODIFIED, **problems(403)},
    openapi_extra={**CONDITIONAL_READ, **success_headers(200, ETag=ETAG)},
)
async def read_me(request: Request, principal: CurrentPrincipal, services: AppServices) -> Response:
    return _private(request, await services.users.me(principal))


@router.patch(
    "/me",
    response_model=UserPrivate,
    operation_id="updateMe",
    summary="Change your account",
    responses=problems(403, 412, body=True),
    openapi_extra=success_headers(200, ETag=ETAG),
)
async def update_me(
    body: UserUpdateMe,
    principal: CurrentPrincipal,
    services: AppServices,
    if_match: IfMatch = None,
) -> Response:
    """Change your name or password (with `current_password`; other sessions then end)."""
    command = UpdateMe(**body.model_dump(exclude_unset=True, exclude_none=True))
    since = unchanged_since(if_match, principal.user_id) if principal else None
    user = await services.users.update_me(principal, command, unchanged_since=since)
    return json_response(private(user), headers={"ETag": user_etag(user, private=True)})


@router.delete(
    "/me",
    status_code=204,
    operation_id="deleteMe",
    summary="Delete your account",
    responses=problems(403, 409, 412),
)
async def delete_me(
    principal: CurrentPrincipal, services: AppServices, if_match: IfMatch = None
) -> Response:
    """Delete your account, with its items and tokens."""
    since = unchanged_since(if_match, principal.user_id) if principal else None
    await services.users.delete_me(principal, unchanged_since=since)
    return Response(status_code=204)


@router.get(
    "",
    response_model=PageOut[UserPrivate],
    operation_id="listUsers",
    responses={**NOT_MODIFIED, **problems(403, 422)},
    openapi_extra={**CONDITIONAL_READ, **success_headers(200, ETag=ETAG, Link=LINK)},
)
async def list_users(
    request: Request,
    principal: CurrentPrincipal,
    services: AppServices,
    page: PageNumber = None,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response:
    """Every user, oldest first (administrators only). Page by number or by `cursor`."""
    if cursor is not None:
        if page is not None:
            raise ValidationFailed.one(
                ("query", "page"), "give page or cursor, not both", "value_error"
            )
        found = await services.users.slice(principal, cursor_window(cursor, size))
        out = PageOut[UserPrivate](
            items=[private(u) for u in found.items],
            size=size,
            next_cursor=found.next_cursor,
            has_more=found.has_more,
        )
        next_cursor = found.next_cursor
    else:
        result = await services.users.page(principal, page=page or 1, size=size)
        out = PageOut[UserPrivate](
            items=[private(u) for u in result.items],
            total=result.total,
            page=result.page,
            size=result.size,
            pages=result.pages,
            next_cursor=result.next_cursor,
            has_more=result.has_more,
        )
        next_cursor = result.next_cursor
    body = page_body(out, cursor_mode=cursor is not None)
    answer = conditional(request, body)
    answer.headers.update(next_link(request, next_cursor))
    return answer


@router.get(
    "/{user_id}",
    response_model=UserPrivate | UserPublic,
    operation_id="getUser",
    responses={**NOT_MODIFIED, **problems(403, 404, 422)},
    openapi_extra={**CONDITIONAL_READ, **success_headers(200, ETag=ETAG)},
)
async def read_user(
    request: Request, principal: CurrentPrincipal, services: AppServices, user_id: int = UserId
) -> Response:
    """The public view; the private one for yourself and for administrators."""
    view = await services.users.get(principal, user_id)
    shown = private(view.user) if view.private else public(view.user)
    tag = user_etag(view.user, private=view.private)
    return conditional(request, shown.model_dump_json().encode(), tag=tag)


@router.patch(
    "/{user_id}",
    response_model=UserPrivate,
    operation_id="updateUser",
    responses=problems(403, 404, 409, 412, body=True),
    openapi_extra=success_headers(200, ETag=ETAG),
)
async def update_user(
    body: UserUpdate,
    principal: CurrentPrincipal,
    services: AppServices,
    user_id: int = UserId,
    if_match: IfMatch = None,
) -> Response:
    """Rename, change the role of, or (de)activate a user (administrators only).

    Send `If-Match` with an ETag from a read to refuse lost updates (412 when stale).
    """
    command = UpdateUser(**body.model_dump(exclude_unset=True, exclude_none=True))
    since = unchanged_since(if_match, user_id)
    user = await services.users.update(principal, user_id, command, unchanged_since=since)
    return json_response(private(user), headers={"ETag": user_etag(user, private=True)})


@router.delete(
    "/{user_id}",
    status_code=204,
    operation_id="deleteUser",
    responses=problems(403, 404, 409, 412, 422),
)
async def delete_user(
    principal: CurrentPrincipal,
    services: AppServices,
    user_id: int = UserId,
    if_match: IfMatch = None,
) -> Response:
    since = unchanged_since(if_match, user_id)
    await services.users.delete(principal, user_id, unchanged_since=since)
    return Response(status_code=204)
