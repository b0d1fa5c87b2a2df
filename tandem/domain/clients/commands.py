"""What callers may ask of the clients domain."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CreateClient:
    name: str
    user_id: int
    scopes: list[str]
    api_version: str  # the version it is pinned to: the face gives its newest
