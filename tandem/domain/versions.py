"""The one rule the domain keeps about dated API versions: a pin only moves forward.

What each version means lives at the edge (tandem/http/versions); here a version is
its date as text (`2026-12-07`), and dates in that form order as text does.
"""

from __future__ import annotations

from tandem.domain.errors import ValidationFailed


def forward_only(current: str, wanted: str) -> None:
    """ValidationFailed when `wanted` is older than `current`: a pin never moves back."""
    if wanted < current:
        raise ValidationFailed.one(
            ("api_version",),
            f"must not be older than the pinned {current}: a version only moves forward",
            "value_error",
        )
