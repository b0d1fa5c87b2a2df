"""What callers may ask of the users domain."""

from __future__ import annotations

from dataclasses import dataclass

from tandem.domain.values import UNSET, Unset


@dataclass(frozen=True, slots=True)
class RegisterUser:
    email: str
    name: str
    password: str


@dataclass(frozen=True, slots=True)
class UpdateMe:
    name: str | Unset = UNSET
    password: str | Unset = UNSET
    current_password: str | Unset = UNSET


@dataclass(frozen=True, slots=True)
class UpdateUser:
    """An administrator's change to any user."""

    name: str | Unset = UNSET
    role: str | Unset = UNSET
    is_active: bool | Unset = UNSET
