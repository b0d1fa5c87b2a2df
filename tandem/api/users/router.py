"""REST routes for users: the caller's own account, and administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.paging import LINK, Cursor, PageNumber, cursor_window, next_link
from tandem.api.responses import json_response
from tandem.api.schemas import PageOut, page_body, problems
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
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge_signed_in_call

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(charge_signed_in_call)])
UserId = Path(ge=1, le=2**63 - 1)


@router.get("/me", response_model=UserPrivate, responses=problems(401))
async def read_me(principal: CurrentPrincipal, services: AppServices) -> Response:
    return json_response(private(await services.users.me(principal)))


@router.patch("/me", response_model=UserPrivate, responses=problems(400, 401))
async def update_me(
    body: UserUpdateMe, principal: CurrentPrincipal, services: AppServices
) -> Response:
    """Change your name or password (with `current_password`; other sessions then end)."""
    command = UpdateMe(**body.model_dump(exclude_unset=True, exclude_none=True))
    return json_response(private(await services.users.update_me(principal, command)))


@router.delete("/me", status_code=204, responses=problems(401, 409))
async def delete_me(principal: CurrentPrincipal, services: AppServices) -> Response:
    """Delete your account, with its items and tokens."""
    await services.users.delete_me(principal)
    return Response(status_code=204)


@router.get(
    "",
    response_model=PageOut[UserPrivate],
    responses=problems(401, 403),
    openapi_extra={"responses": {"200": {"headers": LINK}}},
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
    headers = next_link(request, next_cursor)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/{user_id}", response_model=UserPrivate | UserPublic, responses=problems(401, 403, 404)
)
async def read_user(
    principal: CurrentPrincipal, services: AppServices, user_id: int = UserId
) -> Response:
    """The public view; the private one for yourself and for administrators."""
    view = await services.users.get(principal, user_id)
    return json_response(private(view.user) if view.private else public(view.user))


@router.patch("/{user_id}", response_model=UserPrivate, responses=problems(400, 401, 403, 404, 409))
async def update_user(
    body: UserUpdate, principal: CurrentPrincipal, services: AppServices, user_id: int = UserId
) -> Response:
    """Rename, change the role of, or (de)activate a user (administrators only)."""
    command = UpdateUser(**body.model_dump(exclude_unset=True, exclude_none=True))
    return json_response(private(await services.users.update(principal, user_id, command)))


@router.delete("/{user_id}", status_code=204, responses=problems(401, 403, 404, 409))
async def delete_user(
    principal: CurrentPrincipal, services: AppServices, user_id: int = UserId
) -> Response:
    await services.users.delete(principal, user_id)
    return Response(status_code=204)
