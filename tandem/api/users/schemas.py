"""REST shapes for users: what comes in, and the public and private views that go out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from tandem.api.schemas import Input
from tandem.domain import global_ids
from tandem.domain.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from tandem.domain.users.records import Role, UserRecord
from tandem.domain.users.rules import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)


# email-validator refuses the special-use domains that can never receive mail (RFC 6761):
# the pattern says so, beside the format, for clients and generators.
SPECIAL_USE = "|".join(
    _any_case(d) for d in ("arpa", "invalid", "local", "localhost", "onion", "test")
)
EMAIL: dict[str, Any] = {
    "format": "email",
    "pattern": rf"^(?![^@]*@([^@]*\.)?({SPECIAL_USE})\.?$)",
}
# Text, not layout (domain/users/rules.py): no control characters (Cc), line or paragraph
# separators, or bidirectional controls; and not blank.
_LAYOUT = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
NAME_TEXT: dict[str, Any] = {"pattern": f"^[^{_LAYOUT}]*[^\\s{_LAYOUT}][^{_LAYOUT}]*$"}
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH, json_schema_extra=NAME_TEXT)]
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


# Checked by the domain (email-validator); the format tells clients and generators so.
Email = Annotated[
    str,
    Field(max_length=EMAIL_MAX_LENGTH, examples=["ada@example.com"], json_schema_extra=EMAIL),
]


class UserRegister(Input):
    email: Email
    name: Name
    password: Password


class UserUpdateMe(Input):
    name: Name | None = None
    password: Password | None = None
    current_password: Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)] | None = None


class UserUpdate(Input):
    name: Name | None = None
    role: Role | None = None
    is_active: Annotated[bool, Field(strict=True)] | None = None  # 0 or "yes" is no boolean


class UserPublic(BaseModel):
    id: int
    node_id: str
    name: str
    created_at: datetime


class UserPrivate(UserPublic):
    email: str
    role: Role
    is_active: bool
    updated_at: datetime


def public(user: UserRecord) -> UserPublic:
    return UserPublic.model_construct(
        id=user.id,
        node_id=global_ids.encode("User", user.id),
        name=user.name,
        created_at=user.created_at,
    )


def private(user: UserRecord) -> UserPrivate:
    return UserPrivate.model_construct(
        id=user.id,
        node_id=global_ids.encode("User", user.id),
        name=user.name,
        created_at=user.created_at,
        email=user.email,
        role=Role(user.role),
        is_active=user.is_active,
        updated_at=user.updated_at,
    )
