"""A query's root fields, planned: each resolver called directly, its arguments converted once.

graphql-core runs a root field through several layers per request: it collects the
operation's root fields, looks each one up, builds its arguments from the AST
(`get_argument_values`), and calls Strawberry's wrapper, which makes the resolver's
`Info`, converts the arguments into Python values (`convert_arguments`), chains the
field's extensions and awaits the result in a coroutine of its own. A root plan
does what those layers decide once per document (the fields collected, which
function to call and with which parameters, the arguments when they read no
variable) and keeps per request only what depends on the request: the resolve info,
the arguments that read variables, and the call.

A root field whose resolver is a Strawberry resolver with no field extension
(permissions are extensions) and no exception handler is called directly; any other
(introspection's, a field with extensions) through its resolver, as graphql-core
calls it. A mutation (its fields run in order) and a subscription are graphql-core's;
a query with `@defer` is declined and counted in `tandem_graphql_plan_declines_total`.
Running the plan is the executor's (executor.py): its errors, nulls and paths are
graphql-core's own (`handle_field_error`), and each root value is completed by the
field's completer (build.py), as under graphql-core's own root loop.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from graphql import FieldNode, GraphQLField, GraphQLObjectType, ValueNode, VariableNode
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_argument_values
from graphql.language import ListValueNode, ObjectValueNode
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import convert_argument, convert_arguments
from strawberry.types.base import StrawberryMaybe, StrawberryOptional

from tandem.graphql.plan.build import Unplannable, check_plannable

# Argument values safe to share between requests: nothing a resolver could change in place.
_IMMUTABLE = (str, int, float, bool, Decimal, Enum, type(None))

# (executor, source, resolve info) -> the resolver's value (maybe awaitable).
Call = Callable[[Any, Any, Any], Any]


class Root:
    """One root field of a planned query: its response key, definition, nodes and call."""

    __slots__ = ("call", "details", "field", "key", "nodes")

    def __init__(self, key: str, field: GraphQLField, details: Any, call: Call) -> None:
        self.key = key
        self.field = field
        self.details = details
        self.nodes: list[FieldNode] = [detail.node for detail in details]
        self.call = call


class Roots:
    """A query's root fields, in response order, with the root type they belong to."""

    __slots__ = ("fields", "type")

    def __init__(self, kind: GraphQLObjectType, fields: tuple[Root, ...]) -> None:
        self.type = kind
        self.fields = fields


def plan_roots(executor: Any) -> Roots:
    """The root plan of the executor's operation (a query), or Unplannable with why not."""
    schema = executor.schema
    kind = schema.query_type
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if kind is None or strawberry_schema is None:
        raise Unplannable("root_schema")
    grouped, defers, _forbidden = collect_fields(
        schema,
        executor.fragments,
        executor.variable_values,
        kind,
        executor.operation,
        executor.hide_suggestions,
    )
    if defers:
        raise Unplannable("defer")
    roots: list[Root] = []
    for key, details in grouped.items():
        check_plannable(details)
        field = schema.get_field(kind, details[0].node.name.value)
        if field is None:
            raise Unplannable("unknown_field")
        roots.append(Root(key, field, details, _call(executor, strawberry_schema, field, details)))
    return Roots(kind, tuple(roots))


def _call(executor: Any, strawberry_schema: Any, field: GraphQLField, details: Any) -> Call:
    """The root field's resolver, called with what Strawberry's wrapper would pass it; a
    field whose resolver is not a plain Strawberry one is called as graphql-core calls it."""
    definition = (field.extensions or {}).get("strawberry-definition")
    resolver = getattr(definition, "base_resolver", None)
    converter = strawberry_schema.schema_converter
    if (
        definition is None
        or resolver is None
        or definition.extensions
        or converter._get_field_exception_handlers(definition)
        or not callable(resolver.wrapped_func)
    ):
        return _graphql_core_call(field, details)
    function = resolver.wrapped_func
    config = strawberry_schema.config
    info_class = config.info_class
    registry = converter.scalar_registry
    arguments = definition.arguments
    node = details[0].node
    converts = bool(field.args or node.arguments)
    conversions = tuple(
        (
            config.name_converter.from_argument(argument),
            argument.python_name,
            argument.type,
            _as_is(argument.type, registry),
        )
        for argument in arguments
    )
    passes_self = resolver.self_parameter is not None
    sources = tuple(
        parameter.name
        for parameter in (resolver.parent_parameter, resolver.root_parameter)
        if parameter is not None
    )
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    static = _static_arguments(executor, field, node, arguments, registry, config, converts)

    def call(executor: Any, source: Any, info: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=definition)
        if static is not None:
            kwargs = dict(static)
        elif converts:  # Strawberry's `convert_arguments`, its decisions made once
            values = get_argument_values(
                field, node, executor.variable_values, None, executor.hide_suggestions
            )
            kwargs = {}
            for name, python_name, kind, as_is in conversions:
                if name in values:
                    value = values[name]
                    kwargs[python_name] = (
                        value
                        if as_is
                        else convert_argument(
                            value, kind, registry, config, strawberry_info, path=(name,)
                        )
                    )
        else:
            kwargs = {}
        for name in sources:
            kwargs[name] = source
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        if passes_self:
            return function(source, **kwargs)
        return function(**kwargs)

    return call


def _graphql_core_call(field: GraphQLField, details: Any) -> Call:
    """graphql-core's own call of a field's resolver (introspection's, a field with extensions)."""
    node = details[0].node
    fragment_values = details[0].fragment_variable_values
    converts = bool(field.args or node.arguments)
    resolve = field.resolve

    def call(executor: Any, source: Any, info: Any) -> Any:
        arguments = (
            get_argument_values(
                field, node, executor.variable_values, fragment_values, executor.hide_suggestions
            )
            if converts
            else {}
        )
        return (resolve or executor.field_resolver)(source, info, **arguments)

    return call


def _static_arguments(
    executor: Any,
    field: GraphQLField,
    node: FieldNode,
    arguments: Any,
    registry: Any,
    config: Any,
    converts: bool,
) -> dict[str, Any] | None:
    """The field's converted arguments when they read no variable and hold only immutable
    values (shared by every request of the plan); None when they must be made per call."""
    if not converts:
        return {}
    if any(_reads_variable(argument.value) for argument in node.arguments or ()):
        return None
    try:
        converted = convert_arguments(
            get_argument_values(field, node, None, None, executor.hide_suggestions),
            arguments,
            scalar_registry=registry,
            config=config,
        )
    except Exception:  # raised again per call, where graphql-core words it for the field
        return None
    if all(isinstance(value, _IMMUTABLE) for value in converted.values()):
        return converted
    return None


def _as_is(kind: Any, registry: Any) -> bool:
    """Whether Strawberry's `convert_argument` hands a value of `kind` back unchanged: a
    scalar other than GlobalID (which it decodes), optional or not (Maybe wraps it)."""
    while isinstance(kind, StrawberryOptional) and not isinstance(kind, StrawberryMaybe):
        kind = kind.of_type
    return kind is not GlobalID and is_scalar(kind, registry)


def _reads_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_reads_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_reads_variable(entry.value) for entry in value.fields)
    return False
