"""What an operation may ask for, decided before anything is resolved, and what it costs.

Depth and aliases are checked by Strawberry's own validation rules, inside the
cached validation (tandem/graphql/execution.py); root fields bound the shape of
a document here, and the node budget
bounds what it can return, computed GitHub's way: the product of the `first`
arguments down each path (with the request's variables), summed over every
connection. The same walk counts the requests an operation may need, and the
connections that search (each costs SEARCH_COST more), which prices it against
the principal's rate limit (tandem/graphql/execution.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    value_from_ast_untyped,
)

from tandem.domain.items.rules import search_terms
from tandem.domain.pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tandem.domain.rate_limits import operation_cost

DEFAULT_FIRST = DEFAULT_PAGE_SIZE
CONNECTIONS = frozenset({"items", "users"})  # fields paged by `first` (or `last`)


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 30
    max_root_fields: int = 20
    max_nodes: int = 50_000


@dataclass(slots=True)
class Analysis:
    root_fields: int = 0
    nodes: int = 0
    requests: int = 0
    mutation: bool = False
    searches: int = 0  # connections asked to search (`filter: {q}`), each priced on its own

    @property
    def cost(self) -> int:
        """What the operation is charged: its requests, and each search on top."""
        return operation_cost(self.requests, mutation=self.mutation, searches=self.searches)


@dataclass(slots=True)
class Walk:
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    analysis: Analysis = field(default_factory=Analysis)
    varies: bool = False  # a variable's value entered the analysis: not reusable

    def selection_set(
        self, selections: SelectionSetNode, *, depth: int, multiplier: int, seen: frozenset[str]
    ) -> None:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, depth=depth, multiplier=multiplier, seen=seen)
            elif isinstance(selection, InlineFragmentNode):
                self.selection_set(
                    selection.selection_set, depth=depth, multiplier=multiplier, seen=seen
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    self.selection_set(
                        fragment.selection_set,
                        depth=depth,
                        multiplier=multiplier,
                        seen=seen | {name},
                    )

    def field(self, node: FieldNode, *, depth: int, multiplier: int, seen: frozenset[str]) -> None:
        name = node.name.value
        if name.startswith("__"):  # introspection is bounded by the schema, not the caller
            return
        analysis = self.analysis
        if depth == 1:
            analysis.root_fields += 1
        if name in CONNECTIONS:
            # A page is `first` long, or (paging backward) `last`.
            first = self.int_argument(node, "first", -1)
            if first < 0:
                first = self.int_argument(node, "last", DEFAULT_FIRST)
            analysis.requests += multiplier
            if self.searches(node):
                analysis.searches += multiplier
            multiplier *= first
            analysis.nodes += multiplier
        elif name == "nodes" and depth == 1:  # Query.nodes(ids:), not a connection's `nodes`
            analysis.requests += multiplier
            multiplier *= self.list_length(node, "ids")
            analysis.nodes += multiplier
        if node.selection_set is not None:
            self.selection_set(
                node.selection_set, depth=depth + 1, multiplier=multiplier, seen=seen
            )

    def argument(self, node: FieldNode, name: str) -> ValueNode | None:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return argument.value
        return None

    def searches(self, node: FieldNode) -> bool:
        """Whether a connection's `filter` has a `q` with a word in it (what the domain
        searches for: `search_terms`)."""
        value = self.argument(node, "filter")
        if value is None:
            return False
        self.varies = (
            self.varies
            or not isinstance(value, ObjectValueNode)
            or any(isinstance(field.value, VariableNode) for field in value.fields)
        )
        given = value_from_ast_untyped(value, self.variables)
        q = given.get("q") if isinstance(given, dict) else None
        return isinstance(q, str) and bool(search_terms(q))

    def int_argument(self, node: FieldNode, name: str, default: int) -> int:
        value = self.argument(node, name)
        if value is None:
            return default
        self.varies = self.varies or isinstance(value, VariableNode)
        number = value_from_ast_untyped(value, self.variables)
        if not isinstance(number, int) or isinstance(number, bool):
            return default
        # Out-of-range values are refused by the domain; price them at what they could ask.
        return max(0, min(number, MAX_PAGE_SIZE * 1000))

    def list_length(self, node: FieldNode, name: str) -> int:
        value = self.argument(node, name)
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, VariableNode):
            self.varies = True
            given = self.variables.get(value.name.value)
            return len(given) if isinstance(given, list) else 1
        return 1


def _walk(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> Walk:
    # A variable the request leaves out takes its default, in the resolvers and so here.
    defaults = {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    walk = Walk(fragments=fragments, variables={**defaults, **variables})
    walk.analysis.mutation = operation.operation == OperationType.MUTATION
    walk.selection_set(operation.selection_set, depth=1, multiplier=1, seen=frozenset())
    return walk


# Analyses of documents whose variables do not change them, by (the SHA-256 of the query's
# text, operation name): hot queries are walked once. Bounded in entries, each a few bytes
# (never the text itself: a 1 MiB text as a key would be kept whole); the oldest goes first.
ANALYSIS_CACHE_SIZE = 512
_analyses: dict[tuple[bytes, str | None], Analysis] = {}


def analyse(
    document: DocumentNode, query: str | None, operation_name: str | None, variables: dict[str, Any]
) -> Analysis | None:
    """The analysis of the operation the request runs; None when the document names none.

    Shared between requests when cached: read it, never change it.
    """
    digest = hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest() if query else b""
    key = (digest, operation_name)
    cached = _analyses.get(key) if query else None
    if cached is not None:
        return cached
    operation = _operation(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _walk(operation, fragments, variables)
    if query and not walk.varies:
        if len(_analyses) >= ANALYSIS_CACHE_SIZE:
            del _analyses[next(iter(_analyses))]
        _analyses[key] = walk.analysis
    return walk.analysis


def violations(analysis: Analysis, limits: Limits) -> list[str]:
    problems = []
    if analysis.root_fields > limits.max_root_fields:
        problems.append(f"{analysis.root_fields} root fields exceed {limits.max_root_fields}")
    if analysis.nodes > limits.max_nodes:
        problems.append(f"it could return {analysis.nodes} nodes; the budget is {limits.max_nodes}")
    return problems


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)
