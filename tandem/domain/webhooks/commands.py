"""What a caller asks of its webhook endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tandem.domain.values import UNSET, Unset


@dataclass(frozen=True, slots=True)
class CreateWebhook:
    url: str
    events: list[str]


@dataclass(frozen=True, slots=True)
class UpdateWebhook:
    url: str | Unset = UNSET
    events: list[str] | Unset = UNSET
    active: bool | Unset = UNSET


@dataclass(frozen=True, slots=True)
class ReplayEvents:
    """Send again the events since `since` (before `until`), of `types` (None: every type)."""

    since: datetime
    until: datetime | None = None
    types: list[str] | None = None
