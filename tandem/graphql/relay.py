"""The Node interface and Relay's PageInfo, shared by every feature."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from tandem.domain import global_ids
from tandem.domain.errors import NotFound
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
    def forward(cls, cursors: Sequence[str], *, has_more: bool) -> PageInfo:
        """Forward-only paging (`first`/`after`): there is never a previous page to report."""
        return cls(
            has_next_page=has_more,
            has_previous_page=False,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


def database_id(info: Info, global_id: str, type_name: str) -> int:
    """The database id behind a global ID of `type_name`; NOT_FOUND for any other.

    An anonymous caller hears UNAUTHENTICATED first, whatever the id, as on REST.
    """
    signed_in(info.context.principal)
    number = global_ids.decode_as(global_id, type_name)
    if number is None:
        raise NotFound(f"No {type_name} with id {global_id!r}.")
    return number
