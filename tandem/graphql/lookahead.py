"""Looking ahead at what a query selects, to load a relation for a whole page at once."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selects(selections: Iterable[Selection], *path: str) -> bool:
    """Whether the selection reaches `path` (fragments looked through), e.g. nodes → owner."""
    if not path:
        return True
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == path[0] and selects(selection.selections, *path[1:]):
                return True
        elif isinstance(selection, InlineFragment | FragmentSpread) and selects(
            selection.selections, *path
        ):
            return True
    return False
