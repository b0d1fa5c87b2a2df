"""Deprecated REST routes say so on every answer: RFC 9745 `Deprecation`, RFC 8594 `Sunset`.

A route is marked where it is declared, and the mark does both jobs at once, so
the document and the answers cannot disagree:

    @router.get("/things", **deprecated(since=..., sunset=..., link="https://..."))

The OpenAPI operation gets `deprecated: true` (a generated client warns on use); each
answer, errors included, carries `Deprecation: @<unix time>`, `Sunset: <HTTP-date>` and
`Link: <…>; rel="deprecation"`. The headers are added where every answer passes
(`RequestContext`, tandem/http/middleware.py), as the rate limit's are, because a
route's own `Response` would not carry headers a dependency set.

GraphQL deprecates a field in the schema instead (`@deprecated(reason:)`, Strawberry's
`deprecation_reason=`); see docs/errors.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from fastapi import Depends, Request

STATE_KEY = "deprecation"


@dataclass(frozen=True, slots=True)
class Deprecation:
    since: datetime  # when the route was (or will be) deprecated
    sunset: datetime | None = None  # when it may stop answering
    link: str | None = None  # where the replacement is explained

    def headers(self) -> list[tuple[bytes, bytes]]:
        found = [(b"deprecation", f"@{int(self.since.timestamp())}".encode())]
        if self.sunset is not None:
            found.append((b"sunset", format_datetime(self.sunset, usegmt=True).encode()))
        if self.link is not None:
            found.append((b"link", f'<{self.link}>; rel="deprecation"; type="text/html"'.encode()))
        return found


def deprecated(
    *, since: datetime, sunset: datetime | None = None, link: str | None = None
) -> dict[str, Any]:
    """Route decorator arguments: `deprecated: true` in OpenAPI, and the headers on answers.

    `since` and `sunset` must be time-zone aware. A route that has `dependencies` of its
    own lists them after `**deprecated(...)`'s (`dependencies=[*marked["dependencies"], …]`).
    """
    if since.tzinfo is None or (sunset is not None and sunset.tzinfo is None):
        raise ValueError("deprecation dates must be time-zone aware")
    if sunset is not None and sunset < since:
        raise ValueError("a route cannot end before it is deprecated")
    mark = Deprecation(since=since, sunset=sunset, link=link)

    async def announce(request: Request) -> None:
        request.scope.setdefault("state", {})[STATE_KEY] = mark

    return {"deprecated": True, "dependencies": [Depends(announce)]}


def deprecation_headers(state: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    mark: Deprecation | None = state.get(STATE_KEY)
    return mark.headers() if mark is not None else []
