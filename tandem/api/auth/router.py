"""Registration and the OAuth 2 endpoints: token (RFC 6749) and revocation (RFC 7009)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Form
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tandem.api.auth.clients import (
    BASIC_CHALLENGE,
    ClientAuthentication,
    client_basic,
    is_basic,
)
from tandem.api.auth.schemas import TokenResponse
from tandem.api.responses import json_response
from tandem.api.responses_doc import PUBLIC, oauth_errors, problems
from tandem.api.users.schemas import UserPrivate, UserRegister, private
from tandem.domain.auth.scopes import InvalidScope
from tandem.domain.errors import InvalidClient, InvalidGrant, InvalidToken
from tandem.domain.rate_limits import REST_CALL_COST
from tandem.domain.users.commands import RegisterUser
from tandem.http.guard import AppServices, CurrentPrincipal, current_principal
from tandem.http.rate_limit import charge, charge_rest_call, client_address
from tandem.http.routes import AdmittedRoute

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FormField = Annotated[str | None, Form()]
GRANT_TYPES = ("password", "refresh_token", "client_credentials")
# Documented as what it must be; any other answers RFC 6749's own `unsupported_grant_type`.
GrantType = Annotated[str | None, Form(json_schema_extra={"enum": list(GRANT_TYPES)})]


def oauth_error(
    error: str, description: str, *, status: int = 400, headers: dict[str, str] | None = None
) -> Response:
    body = orjson.dumps({"error": error, "error_description": description})
    headers = {**NO_STORE, **(headers or {})}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class OAuthRoute(APIRoute):
    """RFC 6749 §5.2 all the way, even for what fails before the endpoint runs.

    A form FastAPI cannot parse or validate is `invalid_request`; a bad bearer token, which
    the guard refuses on every route, is the 401 `invalid_client` that §5.2 prescribes for
    a client that tried to authenticate with the Authorization header and failed.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_oauth(request: Request) -> Response:
            try:
                return await handle(request)
            except InvalidToken as error:
                challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
                return oauth_error("invalid_client", error.message, status=401, headers=challenge)
            except RequestValidationError as error:
                return oauth_error("invalid_request", _form_problem(error))
            except HTTPException as error:
                if error.status_code != 400:
                    raise
                return oauth_error("invalid_request", "The body is not a readable form.")

        return handle_oauth


def _form_problem(error: RequestValidationError) -> str:
    """RFC 6749's `error_description` for a form FastAPI refused: what is missing, if that."""
    for problem in error.errors():
        loc = problem.get("loc", ())
        if problem.get("type") in ("missing", "string_too_short") and len(loc) == 2:
            return f"{loc[1]} is required."
    return "The form fields must be plain text."


async def charge_oauth_call(request: Request) -> None:
    """Charge a token-endpoint call; a Basic header is a client's credentials, not a token.

    Any other Authorization header goes through the guard, so a bad bearer token is
    still a 401, never quietly anonymous.
    """
    principal = None if is_basic(request) else await current_principal(request)
    await charge(request, principal, REST_CALL_COST)


router = APIRouter(
    route_class=AdmittedRoute,
    prefix="/auth",
    tags=["auth"],
    dependencies=[Depends(charge_rest_call)],
)
# The OAuth endpoints are a router of their own: the guard must not read a client's Basic
# credentials as a bad bearer token.
oauth = APIRouter(
    prefix="/auth",
    tags=["auth"],
    route_class=OAuthRoute,
    dependencies=[Depends(charge_oauth_call)],
)
ClientBasicAuth = Annotated[ClientAuthentication | None, Depends(client_basic)]


@router.post(
    "/register",
    status_code=201,
    response_model=UserPrivate,
    operation_id="register",
    responses=problems(409, body=True),
    summary="Create an account",
    openapi_extra=PUBLIC,
)
async def register(
    request: Request,
    body: UserRegister,
    services: AppServices,
    _principal: CurrentPrincipal,  # the guard: a bad token is a 401 here too, never anonymous
) -> Response:
    user = await services.users.register(
        RegisterUser(email=body.email, name=body.name, password=body.password),
        address=client_address(request),
    )
    return json_response(private(user), status=201)


@oauth.post(
    "/token",
    response_model=TokenResponse,
    operation_id="issueToken",
    responses=oauth_errors(),
    summary="Issue tokens (password, refresh_token or client_credentials grant)",
    openapi_extra=PUBLIC,
)
async def token(
    request: Request,
    services: AppServices,
    basic: ClientBasicAuth,
    grant_type: GrantType = None,
    username: FormField = None,
    password: FormField = None,
    refresh_token: FormField = None,
    scope: FormField = None,
    client_id: FormField = None,
    client_secret: FormField = None,
) -> Response:
    """RFC 6749 token endpoint; its errors are `{error, error_description}`, not problem+json.

    `client_credentials` authenticates the client with HTTP Basic (`client_secret_basic`)
    or with the `client_id` and `client_secret` fields (`client_secret_post`). Every
    grant takes `scope` (space-separated) and issues at most what was asked for.
    """
    try:
        if grant_type is None:
            return oauth_error("invalid_request", "grant_type is required.")
        if grant_type == "password":
            if not username or password is None:
                return oauth_error("invalid_request", "username and password are required.")
            pair = await services.auth.login(
                email=username, password=password, address=client_address(request), scope=scope
            )
        elif grant_type == "refresh_token":
            if not refresh_token:
                return oauth_error("invalid_request", "refresh_token is required.")
            pair = await services.auth.refresh(refresh_token, scope=scope)
        elif grant_type == "client_credentials":
            if basic is not None and client_secret is not None:
                return oauth_error(
                    "invalid_request", "Authenticate the client one way: Basic or form fields."
                )
            presented = basic or ClientAuthentication(client_id, client_secret)
            if presented.malformed or not presented.client_id or presented.client_secret is None:
                raise InvalidClient("Client authentication is required: client_id and secret.")
            pair = await services.auth.client_credentials(
                client_id=presented.client_id, client_secret=presented.client_secret, scope=scope
            )
        else:
            return oauth_error(
                "unsupported_grant_type", f"grant_type must be one of {', '.join(GRANT_TYPES)}."
            )
    except InvalidClient as error:
        return oauth_error("invalid_client", error.message, status=401, headers=BASIC_CHALLENGE)
    except InvalidScope as error:
        return oauth_error("invalid_scope", error.message)
    except InvalidGrant as error:
        return oauth_error("invalid_grant", error.message)
    response = TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        scope=pair.scope,
    )
    return json_response(response, headers=NO_STORE)


@oauth.post(
    "/revoke",
    response_class=Response,  # an empty 200, as RFC 7009 §2.2 answers
    operation_id="revokeToken",
    responses={200: {"description": "Revoked, or was never valid"}, **oauth_errors()},
    summary="Revoke an access or refresh token (RFC 7009)",
    openapi_extra=PUBLIC,
)
async def revoke(
    services: AppServices,
    token: Annotated[str, Form(min_length=1)],
    token_type_hint: FormField = None,  # accepted per RFC 7009; the token says what it is
) -> Response:
    """Answers 200 for unknown tokens too, as RFC 7009 asks: nothing is learnt by probing."""
    await services.auth.revoke(token)
    return Response(status_code=200, headers=NO_STORE)
