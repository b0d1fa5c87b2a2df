"""REST paging shared by every list: the `cursor` parameter and the `Link` header (RFC 8288)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import Query
from starlette.requests import Request

from tandem.api.schemas import MAX_PAGE
from tandem.domain.pages import DEFAULT_PAGE_SIZE, Window

CURSOR_DESCRIPTION = (
    "Keyset paging: a page's `next_cursor`, or empty for the first page. Such a page has no "
    "`total`, `page` or `pages`, and stays stable while items are added and removed. "
    "Send the same filters and sort with it: another list's cursor answers 422."
)
Cursor = Annotated[str | None, Query(max_length=1000, description=CURSOR_DESCRIPTION)]
PageNumber = Annotated[
    int | None,
    Query(ge=1, le=MAX_PAGE, description="Offset paging: the page number (1 when absent)"),
]


def cursor_window(cursor: str, size: int) -> Window:
    """The REST face reads forward only; an empty cursor starts from the beginning."""
    return Window(size=size or DEFAULT_PAGE_SIZE, cursor=cursor or None, loc=("query", "cursor"))


def next_link(
    request: Request,
    next_cursor: str | None,
    *,
    param: str = "cursor",
    drop: tuple[str, ...] = ("page",),
) -> dict[str, str]:
    """`Link: <this list, from the next cursor>; rel="next"`, when there is a next page.

    `param` names the cursor's query parameter (`after` on the streams: events, requests);
    `drop` the parameters a cursor replaces (an offset list's `page`).
    """
    if next_cursor is None:
        return {}
    # Starlette's `remove_query_params(drop).include_query_params(cursor=…)` in one pass
    # (one parse, one encoding): the same URL, tests/api/test_cursors.py holds them equal.
    url = request.url
    kept = [
        (key, value)
        for key, value in parse_qsl(url.query, keep_blank_values=True)
        if key != param and key not in drop
    ]
    kept.append((param, next_cursor))
    return {"Link": f'<{url.replace(query=urlencode(kept))}>; rel="next"'}
