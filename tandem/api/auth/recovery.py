"""Password recovery on the REST face: ask for a reset link, then use it."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.auth.schemas import (
    PasswordRecoveryAccepted,
    PasswordRecoveryRequest,
    PasswordResetRequest,
)
from tandem.api.responses import json_response
from tandem.api.responses_doc import PUBLIC, problems
from tandem.http.guard import AppServices, CurrentPrincipal
from tandem.http.rate_limit import charge_rest_call, client_address
from tandem.http.routes import AdmittedRoute

ACCEPTED = PasswordRecoveryAccepted(
    detail="If an account uses this email, a link to reset its password is on its way."
)

router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/auth",
    tags=["auth"],
    dependencies=[Depends(charge_rest_call)],
)


@router.post(
    "/password-recovery",
    status_code=202,
    response_model=PasswordRecoveryAccepted,
    responses=problems(400, body=True),
    summary="Mail a password-reset link",
    operation_id="requestPasswordRecovery",
    openapi_extra=PUBLIC,
)
async def request_password_recovery(
    body: PasswordRecoveryRequest,
    request: Request,
    services: AppServices,
    _principal: CurrentPrincipal,  # the guard: a bad token is a 401 here too
) -> Response:
    """`202` with the same body whether or not the email has an account, in about the same
    time; an active account is mailed `<PUBLIC_URL>/reset-password?token=<token>`, valid
    for one use within `PASSWORD_RESET_TTL_SECONDS` (an hour at most). Asking again
    invalidates the earlier links. Too many requests for one email or from one address
    answer `429` with `Retry-After`."""
    await services.recovery.request(body.email, address=client_address(request))
    return json_response(ACCEPTED, status=202)


@router.post(
    "/reset-password",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "The password is set; every session has ended"},
        **problems(400, body=True),
    },
    summary="Set a new password with a reset token",
    operation_id="resetPassword",
    openapi_extra=PUBLIC,
)
async def reset_password(
    body: PasswordResetRequest,
    services: AppServices,
    _principal: CurrentPrincipal,
) -> Response:
    """Spends the token and sets `new_password`; every refresh token of the account is
    revoked (sign in again everywhere). A token that is unknown, used or expired answers
    `422` (`VALIDATION_FAILED`, `loc` `["body", "token"]`), as does a password of fewer than 8
    or more than 128 characters."""
    await services.recovery.reset(body.token, body.new_password)
    return Response(status_code=204)
