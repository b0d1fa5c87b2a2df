"""Looking ahead at what a query selects: to load a relation for a whole page at once, and
to read only the columns the query reads (tandem/graphql/projection.py)."""

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
    return path[-1] in selected(info, *path[:-1])


def selected(info: Any, *path: str) -> set[str]:
    """The names of the fields selected at `path` below the field being resolved, wherever
    the path leads (fragments looked through; `@skip` and `@include` not evaluated, so a
    superset), e.g. `selected(info, "nodes")`."""
    raw = info._raw_info
    names: set[str] = set()
    for node in raw.field_nodes:
        if node.selection_set is not None:
            _collect(node.selection_set.selections, raw.fragments, path, names)
    return names


def _collect(
    selections: Iterable[Any], fragments: Fragments, path: tuple[str, ...], names: set[str]
) -> None:
    for selection in selections:
        if isinstance(selection, FieldNode):
            if not path:
                names.add(selection.name.value)
            elif selection.name.value == path[0] and selection.selection_set is not None:
                _collect(selection.selection_set.selections, fragments, path[1:], names)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set.selections, fragments, path, names)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                _collect(fragment.selection_set.selections, fragments, path, names)
