"""REST shapes for the OAuth 2 token endpoint (RFC 6749) and password recovery."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tandem.api.schemas import Input
from tandem.api.users.schemas import Email
from tandem.domain.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from tandem.domain.auth.recovery import MAX_TOKEN_LENGTH


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str | None = None
    scope: str


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2: the token endpoint's own error shape."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str


class PasswordRecoveryRequest(Input):
    email: Email  # the format and the special-use domains email-validator refuses


class PasswordRecoveryAccepted(BaseModel):
    """The same answer whether or not the email has an account."""

    detail: str


class PasswordResetRequest(Input):
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
    new_password: Annotated[
        str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    ]
