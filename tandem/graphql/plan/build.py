"""Compiling a selection into completers, from the schema's own field definitions.

graphql-core completes a value field by field and row by row, asking the schema
each time what the field is (`execute_field`, `complete_value`: a resolve info, a
path and several type checks per field per row). A completer asks once, when the
document is first seen, and keeps the answer as a closure, in the way graphql-jit
(`src/execution.ts`) and Grafast do:

- a field with no resolver of its own (Strawberry's basic field: no resolver, no
  extension) reads its attribute, `getattr(source, python_name)`;
- any other field is called through the resolver the schema holds (Strawberry's
  wrapper, so arguments, permissions and extensions are the field's own), with the
  resolve info graphql-core would give it;
- a leaf is coerced by its type's own `coerce_output_value` (a string already a
  string is taken as is; a value of a standard class never awaitable, `_PLAIN`, is
  coerced without asking whether it is awaitable);
- an object, a list, an interface or a union is completed as graphql-core completes
  it (`is_type_of`, `resolve_type`), with the fields graphql-core's own collection
  picks (`collect_subfields`: fragments, aliases, `@skip`/`@include`);
- an awaitable value (a resolver's coroutine, a DataLoader's future) is awaited with
  every other awaitable found on the same pass (run.py), so loaders batch as they do
  under graphql-core.

Nothing here names a field or a type of Tandem's schema: a field added to the schema
is planned the way its definition says. A completer never handles an error: one
raising (or a null where the schema promises a value) sends the whole field back to
graphql-core (executor.py), which reports it in its own words.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from tandem.graphql.plan.run import Run

# (value, container, key, path of the value, run): sets container[key] to the
# completed value, now or once an awaitable it found has been awaited.
Completer = Callable[[Any, Any, Any, Path | None, Run], None]
# (source, path of the source, run): the field's raw value (maybe awaitable).
Reader = Callable[[Any, Path | None, Run], Any]


# Standard classes whose values are never awaitable (no `__await__`, no instance attributes,
# not coroutines): a leaf's value of one of these is coerced without `is_awaitable`, which
# the list of 50 called for every price (a Decimal): 52 calls a request.
_PLAIN: frozenset[type] = frozenset(
    {
        str,
        int,
        float,
        bool,
        decimal.Decimal,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        uuid.UUID,
    }
)


class Unplannable(Exception):
    """A selection the completers do not cover: graphql-core completes the field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # a short, bounded label: the metric's


def check_plannable(details: Any) -> None:
    """Unplannable when a field's collected nodes are deferred or read fragment variables."""
    for detail in details:
        if detail.defer_usage is not None:
            raise Unplannable("defer")
        if detail.fragment_variable_values is not None:
            raise Unplannable("fragment_variables")


class Invalid(Exception):
    """A value graphql-core would refuse (a null for a non-null, a bad runtime type)."""


def _strawberry_is_type_of(function: Any) -> bool:
    """Strawberry's generated `is_type_of`, which reads its value and never its info."""
    return getattr(function, "__qualname__", "").endswith("_get_is_type_of.<locals>.is_type_of")


class Compiler:
    """Builds the completers of one operation, for one executor's variables."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.schema = executor.schema
        config = getattr(executor.schema, "_strawberry_schema", None)
        self.default_resolver = getattr(
            getattr(config, "config", None), "default_resolver", getattr
        )

    # --- fields ---------------------------------------------------------------------------

    def field(self, parent: GraphQLObjectType, details: Any) -> tuple[Completer, bool]:
        """The completer of a field's value (its sub-selection included); whether it needs paths."""
        field = self.schema.get_field(parent, details[0].node.name.value)
        if field is None:
            raise Unplannable("unknown_field")
        return self.value(field.type, details)

    def reader(
        self, parent: GraphQLObjectType, field: GraphQLField, details: Any
    ) -> tuple[Reader, bool]:
        """How to call a field's resolver, with the info graphql-core would give it."""
        resolve = field.resolve
        resolve_fn = resolve or self.executor.field_resolver
        nodes = [detail.node for detail in details]
        node = nodes[0]
        key = node.alias.value if node.alias else node.name.value
        fragment_values = details[0].fragment_variable_values
        needs_arguments = bool(field.args or node.arguments)

        def call(source: Any, path: Path | None, run: Run) -> Any:
            executor = run.executor
            here = Path(path, key, parent.name)
            info = executor.build_resolve_info(field, nodes, parent, here)
            if needs_arguments:
                arguments = get_argument_values(
                    field,
                    node,
                    executor.variable_values,
                    fragment_values,
                    executor.hide_suggestions,
                )
                return resolve_fn(source, info, **arguments)
            return resolve_fn(source, info)

        return call, True

    # --- values ---------------------------------------------------------------------------

    def value(self, kind: GraphQLOutputType, details: Any) -> tuple[Completer, bool]:
        """A completer for a value of `kind`; whether it needs the value's path."""
        nullable = True
        if is_non_null_type(kind):
            assert isinstance(kind, GraphQLNonNull)
            nullable, kind = False, kind.of_type
        if is_leaf_type(kind):
            assert isinstance(kind, GraphQLLeafType)
            return self.leaf(kind, nullable), False
        if is_list_type(kind):
            assert isinstance(kind, GraphQLList)
            return self.list_of(kind, details, nullable)
        if is_abstract_type(kind):
            assert isinstance(kind, (GraphQLAbstractType))
            return self.abstract(kind, details, nullable), True
        if is_object_type(kind):
            assert isinstance(kind, GraphQLObjectType)
            return self.object(kind, details, nullable)
        raise Unplannable("output_type")

    def leaf(self, kind: GraphQLLeafType, nullable: bool) -> Completer:
        coerce = kind.coerce_output_value
        strings = kind is GraphQLString or kind is GraphQLID

        def complete(value: Any, out: Any, key: Any, path: Path | None, run: Run) -> None:
            if value is None or value is Undefined:
                if not nullable:
                    raise Invalid
                out[key] = None
            elif strings and value.__class__ is str:
                out[key] = value
            elif value.__class__ not in _PLAIN and run.is_awaitable(value):
                run.later(value, complete, out, key, path)
            else:
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise Invalid
                out[key] = coerced

        return complete

    def list_of(
        self, kind: GraphQLList[Any], details: Any, nullable: bool
    ) -> tuple[Completer, bool]:
        item, item_needs_path = self.value(kind.of_type, details)

        def complete(value: Any, out: Any, key: Any, path: Path | None, run: Run) -> None:
            if value is None or value is Undefined:
                if not nullable:
                    raise Invalid
                out[key] = None
                return
            if run.is_awaitable(value):
                run.later(value, complete, out, key, path)
                return
            if not isinstance(value, list | tuple):
                if run.executor.is_async_iterable(value) or not is_iterable(value):
                    raise Invalid  # a stream, or no list at all: graphql-core words it
                value = list(value)  # any other iterable, as graphql-core takes it
            items: list[Any] = [None] * len(value)
            out[key] = items
            if item_needs_path:
                for index, element in enumerate(value):
                    item(element, items, index, Path(path, index, None), run)
            else:
                for index, element in enumerate(value):
                    item(element, items, index, None, run)

        return complete, item_needs_path

    def object(
        self, kind: GraphQLObjectType, details: Any, nullable: bool
    ) -> tuple[Completer, bool]:
        fields = self.selection(kind, details)
        needs_path = any(field.needs_path for field in fields)
        is_type_of = kind.is_type_of
        check: Callable[[Any, Path | None, Run], bool] | None = None
        origin = None
        if is_type_of is not None:
            if _strawberry_is_type_of(is_type_of):
                generated: Any = is_type_of
                check = lambda value, _path, _run: bool(generated(value, None))  # noqa: E731
                # Strawberry's check passes an instance of the type's own class (not cast).
                definition = (kind.extensions or {}).get("strawberry-definition")
                origin = getattr(definition, "origin", None)
            else:
                check = self._is_type_of_with_info(kind, details)
                needs_path = True
        if origin is None or hasattr(origin, "__await__"):
            origin = _NEVER
        return _generate(fields, nullable=nullable, check=check, origin=origin), needs_path

    def _is_type_of_with_info(
        self, kind: GraphQLObjectType, details: Any
    ) -> Callable[[Any, Path | None, Run], bool]:
        """A hand-written `is_type_of`: called with the info graphql-core would pass."""
        nodes = [detail.node for detail in details]
        is_type_of = kind.is_type_of
        assert is_type_of is not None

        def check(value: Any, path: Path | None, run: Run) -> bool:
            assert path is not None
            executor = run.executor
            at = _field_path(path)
            parent = executor.schema.get_type(at.typename) if at.typename else None
            field = executor.schema.get_field(parent, nodes[0].name.value) if parent else None
            if field is None:
                return False
            info = executor.build_resolve_info(field, nodes, parent, at)
            verdict = is_type_of(value, info)
            if executor.is_awaitable(verdict):
                raise Unplannable("async_type_check")
            return bool(verdict)

        return check

    def abstract(self, kind: GraphQLAbstractType, details: Any, nullable: bool) -> Completer:
        schema = self.schema
        compiled: dict[str, Completer] = {}
        nodes = [detail.node for detail in details]
        resolve_type = kind.resolve_type or self.executor.type_resolver

        def runtime(name: Any) -> Completer:
            completer = compiled.get(name) if isinstance(name, str) else None
            if completer is None:
                found = schema.get_type(name) if isinstance(name, str) else None
                if not is_object_type(found) or not schema.is_sub_type(kind, found):
                    raise Invalid
                assert isinstance(found, GraphQLObjectType)
                completer = self.object(found, details, nullable)[0]
                compiled[name] = completer
            return completer

        def complete(value: Any, out: Any, key: Any, path: Path | None, run: Run) -> None:
            if value is None or value is Undefined:
                if not nullable:
                    raise Invalid
                out[key] = None
                return
            if run.is_awaitable(value):
                run.later(value, complete, out, key, path)
                return
            assert path is not None
            executor = run.executor
            parent = schema.get_type(_field_parent(path))
            field = schema.get_field(parent, nodes[0].name.value) if parent else None
            if field is None:
                raise Invalid
            info = executor.build_resolve_info(field, nodes, parent, _field_path(path))
            name = resolve_type(value, info, kind)
            if executor.is_awaitable(name):
                raise Unplannable("async_type_check")
            runtime(name)(value, out, key, path, run)

        return complete

    def selection(self, kind: GraphQLObjectType, details: Any) -> list[Selected]:
        """The fields graphql-core's own collection picks for `kind`, in response order."""
        grouped, defers, forbidden = self.executor.collect_subfields(kind, details)
        if defers or forbidden:
            raise Unplannable("defer")
        fields: list[Selected] = []
        for key, field_details in grouped.items():
            check_plannable(field_details)
            name = field_details[0].node.name.value
            if name == "__typename":
                fields.append(Selected(key, typename=kind.name))
                continue
            field = self.schema.get_field(kind, name)
            if field is None:
                raise Unplannable("unknown_field")
            attribute = self.attribute(field)
            complete, complete_needs_path = self.value(field.type, field_details)
            named = field.type.of_type if is_non_null_type(field.type) else field.type
            strings = named is GraphQLString or named is GraphQLID
            fields.append(
                Selected(
                    key,
                    attribute=attribute,
                    read=None if attribute else self.reader(kind, field, field_details)[0],
                    complete=_at_key(complete, key, kind.name, complete_needs_path),
                    needs_path=attribute is None or complete_needs_path,
                    strings=strings,
                    coerce=named.coerce_output_value
                    if is_leaf_type(named) and not strings and not complete_needs_path
                    else None,
                )
            )
        return fields

    def attribute(self, field: GraphQLField) -> str | None:
        """The attribute a field reads when it has no resolver (a Strawberry basic field)."""
        definition = (field.extensions or {}).get("strawberry-definition")
        if (
            definition is not None
            and getattr(field.resolve, "_is_default", False)
            and self.default_resolver is getattr
            and definition.python_name.isidentifier()
        ):
            return str(definition.python_name)
        return None


class Selected:
    """One collected field of an object selection, as `_generate` writes it."""

    __slots__ = (
        "attribute",
        "coerce",
        "complete",
        "key",
        "needs_path",
        "read",
        "strings",
        "typename",
    )

    def __init__(
        self,
        key: str,
        *,
        typename: str | None = None,
        attribute: str | None = None,
        read: Reader | None = None,
        complete: Completer | None = None,
        needs_path: bool = False,
        strings: bool = False,
        coerce: Callable[[Any], Any] | None = None,
    ) -> None:
        self.key = key
        self.typename = typename
        self.attribute = attribute
        self.read = read
        self.complete = complete
        self.needs_path = needs_path
        self.strings = strings
        self.coerce = coerce  # a leaf's other than a string's: its type's own coercion


class _Never:
    """A class no value is an instance of (no fast path for the type)."""


_NEVER = _Never


def _generate(
    fields: list[Selected],
    *,
    nullable: bool,
    check: Callable[[Any, Path | None, Run], bool] | None,
    origin: type,
) -> Completer:
    """One function per object selection, so a row costs one call rather than three per field.

    Straight-line code: each attribute read inline, a string leaf taken as is, another
    leaf's value of a `_PLAIN` class coerced inline, anything else (None, another value,
    an object, a list, a resolver's value) through its completer. Measured in
    docs/performance.md against the closures it replaced.
    """
    names: dict[str, Any] = {
        "PLAIN": _PLAIN,
        "Undefined": Undefined,
        "Invalid": Invalid,
        "check": check,
        "origin": origin,
        "nullable": nullable,
    }
    lines = [
        "def complete(value, out, key, path, run):",
        "    if value is None or value is Undefined:",
        "        if not nullable:",
        "            raise Invalid",
        "        out[key] = None",
        "        return",
        "    if value.__class__ is not origin or getattr(value, "
        f"{TYPE_CAST_ATTRIBUTE!r}, None) is not None:",
        "        if run.is_awaitable(value):",
        "            run.later(value, complete, out, key, path)",
        "            return",
        "        if check is not None and not check(value, path, run):",
        "            raise Invalid",
        "    result = {}",
        "    out[key] = result",
    ]
    for index, field in enumerate(fields):
        key = repr(field.key)
        if field.typename is not None:
            lines.append(f"    result[{key}] = {field.typename!r}")
            continue
        complete = f"c{index}"
        names[complete] = field.complete
        if field.attribute is None:
            read = f"r{index}"
            names[read] = field.read
            lines.append(f"    {complete}({read}(value, path, run), result, {key}, path, run)")
        elif field.strings:
            lines += [
                f"    x = value.{field.attribute}",
                "    if x.__class__ is str:",
                f"        result[{key}] = x",
                "    else:",
                f"        {complete}(x, result, {key}, path, run)",
            ]
        elif field.coerce is not None:
            coerce = f"k{index}"
            names[coerce] = field.coerce
            lines += [
                f"    x = value.{field.attribute}",
                "    if x.__class__ in PLAIN:",
                f"        x = {coerce}(x)",
                "        if x is None or x is Undefined:",
                "            raise Invalid",
                f"        result[{key}] = x",
                "    else:",
                f"        {complete}(x, result, {key}, path, run)",
            ]
        else:
            lines.append(f"    {complete}(value.{field.attribute}, result, {key}, path, run)")
    namespace: dict[str, Any] = dict(names)
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the schema's own names
    function: Completer = namespace["complete"]
    return function


def _at_key(complete: Completer, key: str, parent: str, needs_path: bool) -> Completer:
    """The field's completer, given the path of the field (not of its parent) if it needs one."""
    if not needs_path:
        return complete

    def at_key(value: Any, out: Any, name: Any, path: Path | None, run: Run) -> None:
        complete(value, out, name, Path(path, key, parent), run)

    return at_key


def _field_path(path: Path) -> Path:
    """The path of the field that holds this position (a list's items share their field's)."""
    while isinstance(path.key, int) and path.prev is not None:
        path = path.prev
    return path


def _field_parent(path: Path) -> str | None:
    return _field_path(path).typename
