"""Planning a validated query: which root fields, which loads, how rows become the response.

A plan is built from graphql-core's own field collection (so fragments, aliases,
`@skip`/`@include` and type conditions mean exactly what they mean to graphql-core),
once per document, operation and value of the variables its directives read, and
kept in a bounded cache. It covers the hot shapes:

- `item(id)`: one item, with its owner from the same statement when selected;
- `items(first, after)`: a page of items, with owners from the same statement when
  selected, as `nodes` and/or `edges { cursor node }`, `pageInfo`, `totalCount`;
- `__typename` anywhere.

Anything else (another root field, `filter` or `orderBy`, a user's own `items`,
`@defer`, a field this module does not know) is not planned: graphql-core runs it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLObjectType,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
    visit,
)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.language import DirectiveNode, Visitor

from tandem.graphql.plan.shapes import (
    Emitter,
    Row,
    Unplannable,
    item_expression,
    plain_field,
)

PLAN_CACHE_SIZE = 256
ITEMS_ARGUMENTS = frozenset({"first", "after"})
PAGE_INFO = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})


@dataclass(frozen=True)
class ItemRoot:
    """`item(id)`: the id's AST, and how the item becomes the response."""

    key: str
    field: Any  # GraphQLField
    node: Any  # FieldNode
    row: Row
    owner: bool


@dataclass(frozen=True)
class ItemsRoot:
    """`items(first, after)`: the page's pieces, in the order the response lists them."""

    key: str
    field: Any
    node: Any
    owner: bool  # whether any selection of an item reaches its owner
    # (response key, what): "totalCount", "__typename", ("nodes", row), ("edges", entries),
    # ("pageInfo", entries); entries are (key, (name, row or type name or None)).
    parts: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    roots: list[tuple[str, Any]]  # (key, ItemRoot | ItemsRoot | "__typename")


class _Collector:
    """graphql-core's field collection for one executor: (key -> (name, details))."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor

    def root(self, root_type: GraphQLObjectType) -> dict[str, tuple[str, Any]]:
        e = self.executor
        collected = collect_fields(
            e.schema, e.fragments, e.variable_values, root_type, e.operation, e.hide_suggestions
        )
        return self._named(collected)

    def sub(self, parent: GraphQLObjectType, details: Any) -> dict[str, tuple[str, Any]]:
        e = self.executor
        collected = collect_subfields(
            e.schema,
            e.fragments,
            e.variable_values,
            e.operation,
            parent,
            details,
            e.hide_suggestions,
        )
        return self._named(collected)

    @staticmethod
    def _named(collected: Any) -> dict[str, tuple[str, Any]]:
        grouped, defers, forbidden = collected
        if defers or forbidden:
            raise Unplannable("@defer or @stream")
        fields: dict[str, tuple[str, Any]] = {}
        for key, details in grouped.items():
            for detail in details:
                if detail.defer_usage is not None or detail.fragment_variable_values is not None:
                    raise Unplannable("deferred or fragment variables")
            fields[key] = (details[0].node.name.value, details)
        return fields


def _object(schema_type: Any) -> GraphQLObjectType:
    named = get_named_type(schema_type)
    if not isinstance(named, GraphQLObjectType):
        raise Unplannable(str(named))
    return named


def _item_row(
    collector: _Collector, item_type: GraphQLObjectType, details: Any
) -> tuple[Row, bool]:
    emitter = Emitter(collector.executor.schema)
    owner_type = _object(plain_field(item_type, "owner").type)
    body, owner = item_expression(
        emitter,
        item_type,
        collector.sub(item_type, details),
        lambda owner_details: collector.sub(owner_type, owner_details),
    )
    return emitter.compile(body), owner


def _items_root(collector: _Collector, key: str, root_field: Any, details: Any) -> ItemsRoot:
    node = details[0].node
    if any(argument.name.value not in ITEMS_ARGUMENTS for argument in node.arguments or ()):
        raise Unplannable("items with filter or order")
    connection = _object(root_field.type)
    parts: list[tuple[str, Any]] = []
    owner = False
    for part_key, (name, part_details) in collector.sub(connection, details).items():
        if name in ("__typename", "totalCount"):
            parts.append((part_key, name))
        elif name == "nodes":
            item_type = _object(plain_field(connection, "nodes").type)
            row, needs_owner = _item_row(collector, item_type, part_details)
            owner = owner or needs_owner
            parts.append((part_key, ("nodes", row)))
        elif name == "edges":
            edge = _object(plain_field(connection, "edges").type)
            entries: list[tuple[str, Any]] = []
            for edge_key, (edge_name, edge_details) in collector.sub(edge, part_details).items():
                if edge_name == "node":
                    item_type = _object(plain_field(edge, "node").type)
                    row, needs_owner = _item_row(collector, item_type, edge_details)
                    owner = owner or needs_owner
                    entries.append((edge_key, ("node", row)))
                elif edge_name == "__typename":
                    entries.append((edge_key, ("__typename", edge.name)))
                elif edge_name == "cursor":
                    entries.append((edge_key, ("cursor", None)))
                else:
                    raise Unplannable(f"edges.{edge_name}")
            parts.append((part_key, ("edges", entries)))
        elif name == "pageInfo":
            info = _object(plain_field(connection, "pageInfo").type)
            entries = []
            for info_key, (info_name, _) in collector.sub(info, part_details).items():
                if info_name == "__typename":
                    entries.append((info_key, ("__typename", info.name)))
                elif info_name in PAGE_INFO:
                    entries.append((info_key, (info_name, None)))
                else:
                    raise Unplannable(f"pageInfo.{info_name}")
            parts.append((part_key, ("pageInfo", entries)))
        else:
            raise Unplannable(f"{connection.name}.{name}")
    return ItemsRoot(key, root_field, node, owner, parts)


def build(executor: Any) -> Plan | None:
    """The plan for this executor's operation, or None when graphql-core must run it."""
    schema = executor.schema
    root_type = schema.query_type
    if root_type is None:
        return None
    collector = _Collector(executor)
    roots: list[tuple[str, Any]] = []
    try:
        for key, (name, details) in collector.root(root_type).items():
            if name == "__typename":
                roots.append((key, root_type.name))
                continue
            root_field = root_type.fields.get(name)
            if root_field is None or len(details) != 1:
                return None
            if name == "item":
                node = details[0].node
                if [a.name.value for a in node.arguments or ()] != ["id"]:
                    return None
                item_type = _object(root_field.type)
                row, owner = _item_row(collector, item_type, details)
                roots.append((key, ItemRoot(key, root_field, node, row, owner)))
            elif name == "items":
                roots.append((key, _items_root(collector, key, root_field, details)))
            else:
                return None
    except Unplannable:
        return None
    except Exception:  # a planner bug must never fail a query: run it plainly
        return None
    return Plan(roots)


def _directive_variables(executor: Any) -> tuple[str, ...]:
    """The variables any directive of the operation or its fragments reads."""
    names: set[str] = set()

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)

    visit(executor.operation, Finder())
    for fragment in executor.fragment_definitions.values():
        visit(fragment, Finder())
    return tuple(sorted(names))


class PlanCache:
    """Plans by (operation, directive variables' values); bounded, oldest out.

    The parser's cache hands the same document (so the same operation node) to every
    request with the same text, so a hot document is planned once.
    """

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self.size = size
        self._operations: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}
        self._plans: OrderedDict[tuple[Any, ...], Plan | None] = OrderedDict()

    def plan_for(self, executor: Any) -> Plan | None:
        operation: OperationDefinitionNode = executor.operation
        known = self._operations.get(id(operation))
        if known is None or known[0] is not operation:
            if len(self._operations) >= self.size:
                self._operations.clear()
                self._plans.clear()
            known = (operation, _directive_variables(executor))
            self._operations[id(operation)] = known
        coerced = executor.variable_values.coerced
        try:
            key = (id(operation), tuple(coerced.get(name) for name in known[1]))
            hash(key)
        except TypeError:
            return build(executor)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        plan = build(executor)
        self._plans[key] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan
