"""What a user is, to every layer: the records repositories return and the roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    name: str
    role: str  # a Role value, as the database returns it
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserCredentials:
    id: int
    password_hash: str
    is_active: bool
