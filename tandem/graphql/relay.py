"""The Node interface and Relay's PageInfo, shared by every feature."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from tandem.domain import global_ids
from tandem.domain.errors import NotFound, clip, missing_message
from tandem.domain.pages import Slice, Window
from tandem.domain.principal import signed_in
from tandem.graphql.context import Info


@strawberry.interface(description="An object with a global ID, equal to its REST `node_id`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, page: Slice[Any]) -> PageInfo:
        """The page's first and last cursors, and whether pages lie after and before it."""
        items, cursor_of = page.items, page.cursor_of
        return cls(
            has_next_page=page.has_more,
            has_previous_page=page.has_previous,
            start_cursor=cursor_of(items[0]) if items else None,
            end_cursor=cursor_of(items[-1]) if items else None,
        )


First = Annotated[
    int | None,
    strawberry.argument(
        description="At most this many from the start or after `after` (1-100; 20 if no `last`)."
    ),
]
After = Annotated[str | None, strawberry.argument(description="A cursor: start after it.")]
Last = Annotated[
    int | None,
    strawberry.argument(description="At most this many from the end or before `before` (1-100)."),
]
Before = Annotated[str | None, strawberry.argument(description="A cursor: end before it.")]


def window(first: int | None, after: str | None, last: int | None, before: str | None) -> Window:
    """A connection's paging arguments, checked (BAD_USER_INPUT when they disagree)."""
    return Window.of(first=first, after=after, last=last, before=before, look_behind=True)


def database_id(info: Info, global_id: str, type_name: str) -> int:
    """The database id behind a global ID of `type_name`; NOT_FOUND for any other.

    An anonymous caller hears UNAUTHENTICATED first, whatever the id, as on REST.
    """
    signed_in(info.context.principal)
    number = global_ids.decode_as(global_id, type_name)
    if number is None:
        raise NotFound(missing_message(type_name.lower(), clip(global_id) or '""'))
    return number
