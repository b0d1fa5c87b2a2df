"""Dated API versions (Stripe's, GitHub's): which exist, and how a request names one.

A request may send `Tandem-Version: YYYY-MM-DD`; without it, it is served its API
client's pinned version, else the newest. The domain stores a pinned version as plain
text and knows nothing of what each version means: every change between two versions
is one module in this package (`changes.py` lists them), a transform of answers (and,
where a change needs it, of requests and of the OpenAPI document) at the edge, from the
newer shape to the older. The newest shape is what the domain and the REST models
produce; nothing else knows of older ones.
"""

from __future__ import annotations

from enum import StrEnum

HEADER = "Tandem-Version"
HEADER_KEY = b"tandem-version"  # as ASGI spells header names


class ApiVersion(StrEnum):
    """Every supported version, oldest first; a value is the date it was released."""

    # The contract as released on 2026-12-01 and everything added to it since, compatibly:
    # what every partner got before versions existed (and still gets when pinned to it).
    V2026_12_01 = "2026-12-01"
    # An item's `version` is called `revision` (changes.py, item_revision.py).
    V2026_12_07 = "2026-12-07"


VERSIONS: tuple[ApiVersion, ...] = tuple(ApiVersion)
OLDEST = VERSIONS[0]
NEWEST = VERSIONS[-1]
SUPPORTED = ", ".join(VERSIONS)
_BY_TEXT = {version.value: version for version in VERSIONS}


class UnknownVersion(ValueError):
    """A version no longer (or never) served: the client hears 400 naming those that are."""

    def __init__(self, text: str, where: str = HEADER) -> None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        super().__init__(
            f"Unknown API version {shown!r} in {where}; supported versions: {SUPPORTED}."
        )


def parse(text: str, where: str = HEADER) -> ApiVersion:
    """The version `text` names exactly (`2026-12-07`); UnknownVersion for anything else."""
    found = _BY_TEXT.get(text.strip())
    if found is None:
        raise UnknownVersion(text, where)
    return found


def pinned(text: str | None) -> ApiVersion | None:
    """A stored pin as a version: None for none, the oldest for one no longer served."""
    if text is None:
        return None
    found = _BY_TEXT.get(text)
    if found is not None:
        return found
    return OLDEST if text < OLDEST else NEWEST
