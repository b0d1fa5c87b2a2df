"""What a caller asks of its webhook endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tandem.domain.values import UNSET, Unset


@dataclass(frozen=True, slots=True)
class CreateWebhook:
    url: str
    events: list[str]
    api_version: str  # the version its payloads are written in: the face gives its newest


@dataclass(frozen=True, slots=True)
class UpdateWebhook:
    url: str | Unset = UNSET
    events: list[str] | Unset = UNSET
    active: bool | Unset = UNSET
    api_version: str | Unset = UNSET  # only forward


@dataclass(frozen=True, slots=True)
class ReplayEvents:
    """Send again the events since `since` (before `until`), of `types` (None: every type)."""

    since: datetime
    until: datetime | None = None
    types: list[str] | None = None
