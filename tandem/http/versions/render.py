"""Answers in the version asked for: the newest shapes, with each newer change undone.

`item_shape(version)` and `event_shape(version)` are None at the newest version (nothing
to do: the REST path pays nothing for versions), else one function that undoes, newest
first, every change made after `version` (changes.py). They are built once per version.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import reduce
from typing import Any

from tandem.http.versions import NEWEST, VERSIONS, ApiVersion, pinned
from tandem.http.versions.changes import Document, VersionChange
from tandem.http.versions.item_revision import ItemVersionIsRevision

# Every change, oldest first: one line here for each module of this package.
CHANGES: tuple[VersionChange, ...] = (ItemVersionIsRevision(),)

Shape = Callable[[Document], Document]


def undone(version: ApiVersion) -> tuple[VersionChange, ...]:
    """The changes made after `version`, newest first: what an answer in it undoes."""
    return tuple(change for change in reversed(CHANGES) if change.version > version)


def _chain(steps: list[Shape]) -> Shape | None:
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    return lambda document: reduce(lambda shown, step: step(shown), steps, document)


_ITEM: dict[ApiVersion, Shape | None] = {
    version: _chain([change.item for change in undone(version)]) for version in VERSIONS
}
_EVENT: dict[ApiVersion, Shape | None] = {
    version: _chain([change.event for change in undone(version)]) for version in VERSIONS
}


def item_shape(version: ApiVersion) -> Shape | None:
    """How an item's document is written in `version`; None: as the newest writes it."""
    return _ITEM[version]


def event_shape(version: ApiVersion) -> Shape | None:
    """How an event's document is written in `version`; None: as the newest writes it."""
    return _EVENT[version]


def event_in(api_version: str, document: Document) -> Document:
    """An event's document in a stored pin's version (a webhook endpoint's)."""
    shape = _EVENT[pinned(api_version) or NEWEST]
    return document if shape is None else shape(document)


def openapi_in(version: ApiVersion, newest: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document of `version`, from the newest one (left as it is)."""
    changes = undone(version)
    if not changes:
        return newest
    document = copy.deepcopy(newest)
    for change in changes:
        change.openapi(document)
    return document
