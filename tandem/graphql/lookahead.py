"""Looking ahead at what a query selects, to load a relation for a whole page at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

Fragments = Mapping[str, FragmentDefinitionNode]


def reaches(info: Any, *path: str) -> bool:
    """Whether the field being resolved selects `path` below it (fragments looked through),
    e.g. `reaches(info, "nodes", "owner")`.

    Reads the operation's own nodes (`info.selected_fields` would first convert them all
    into Strawberry's objects, on every call: 6% of the item query's CPU in a profile); like
    that conversion, it does not evaluate `@skip` or `@include`.
    """
    raw = info._raw_info
    fragments: Fragments = raw.fragments
    return any(
        node.selection_set is not None and _within(node.selection_set.selections, fragments, path)
        for node in raw.field_nodes
    )


def _within(
    selections: Iterable[Any],
    fragments: Mapping[str, FragmentDefinitionNode],
    path: tuple[str, ...],
) -> bool:
    for selection in selections:
        if isinstance(selection, FieldNode):
            if selection.name.value == path[0] and (
                len(path) == 1
                or (
                    selection.selection_set is not None
                    and _within(selection.selection_set.selections, fragments, path[1:])
                )
            ):
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _within(selection.selection_set.selections, fragments, path):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _within(fragment.selection_set.selections, fragments, path):
                return True
    return False
