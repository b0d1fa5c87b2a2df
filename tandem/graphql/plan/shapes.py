"""How a row becomes its part of the response: one generated function per selection.

For an Item selection such as `{ id title price owner { name } }` this builds,
once per planned document, the equivalent of

    lambda r, o, p: {"id": encode("Item", r.id), "title": r.title,
                     "price": None if r.price is None else serialize_decimal(r.price),
                     "owner": {"name": o.name}}

so a page of 50 items costs 50 calls of one function, not one resolver call and
one completion per field per row. Each leaf is serialized exactly as
graphql-core would serialize it through the schema's own scalar and enum types.

A field this module does not know (a new field, one with arguments, one with a
permission class or a field extension) makes the selection unplannable: the
caller then leaves the whole operation to graphql-core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)

from tandem.domain import global_ids
from tandem.domain.users.service import sees_private

# Fields read straight off the record (name in GraphQL -> attribute), by type.
ITEM_ATTRIBUTES = {
    "databaseId": "id",
    "title": "title",
    "description": "description",
    "price": "price",
    "tags": "tags",
    "status": "status",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "version": "version",
}
USER_ATTRIBUTES = {"databaseId": "id", "name": "name", "createdAt": "created_at"}
USER_PRIVATE = {"email": "email", "role": "role"}  # null unless the caller may see them

Row = Callable[[Any, Any, Any], dict[str, Any]]  # (item or user record, owner record, principal)


class Unplannable(Exception):
    """This selection is not covered: graphql-core runs the operation instead."""


def plain_field(parent: GraphQLObjectType, name: str) -> GraphQLField:
    """The field, if it takes no arguments and nothing wraps its resolver."""
    field: GraphQLField | None = parent.fields.get(name)
    if field is None or field.args:
        raise Unplannable(f"{parent.name}.{name}")
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is not None and (definition.permission_classes or definition.extensions):
        raise Unplannable(f"{parent.name}.{name} is guarded")
    return field


class Emitter:
    """Collects the generated expressions and the values they refer to."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.names: dict[str, Any] = {
            "encode": global_ids.encode,
            "sees_private": sees_private,
        }

    def bind(self, value: Any) -> str:
        name = f"_v{len(self.names)}"
        self.names[name] = value
        return name

    def leaf(self, field: GraphQLField, expression: str) -> str:
        """`expression` serialized as graphql-core would serialize the field's type."""
        named = get_named_type(field.type)
        nullable_check = f"None if ({expression}) is None else "
        if isinstance(named, GraphQLEnumType):
            # The record holds the member's value; the face renders the member.
            wrapped = getattr(named, "wrapped_cls", None)
            if wrapped is None:
                raise Unplannable(named.name)
            members = {member.value: named.serialize(member) for member in wrapped}
            return f"{nullable_check}{self.bind(members)}[{expression}]"
        if not isinstance(named, GraphQLScalarType):
            raise Unplannable(named.name)
        if named.name in ("String", "Int", "Boolean", "ID"):
            # The record's own str/int/bool (or list of them), as the schema types it.
            return expression
        return f"{nullable_check}{self.bind(named.serialize)}({expression})"

    def compile(self, body: str) -> Row:
        source = f"lambda r, o, p: {body}"
        function: Row = eval(source, dict(self.names))  # noqa: S307 - generated from the schema's names
        return function


def _dict(entries: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{key!r}: {value}" for key, value in entries) + "}"


def user_expression(
    emitter: Emitter, user_type: GraphQLObjectType, fields: dict[str, Any], var: str
) -> str:
    """A User's dict, built from record `var`; `fields` maps response keys to field names."""
    entries = []
    for key, (name, _sub) in fields.items():
        if name == "__typename":
            entries.append((key, repr(user_type.name)))
            continue
        field = plain_field(user_type, name)
        if name == "id":
            entries.append((key, f"encode('User', {var}.id)"))
        elif name in USER_ATTRIBUTES:
            entries.append((key, emitter.leaf(field, f"{var}.{USER_ATTRIBUTES[name]}")))
        elif name in USER_PRIVATE:
            value = emitter.leaf(field, f"{var}.{USER_PRIVATE[name]}")
            private = f"(p is not None and sees_private(p, {var}.id))"
            entries.append((key, f"(({value}) if {private} else None)"))
        else:
            raise Unplannable(f"User.{name}")
    return _dict(entries)


def item_expression(
    emitter: Emitter,
    item_type: GraphQLObjectType,
    fields: dict[str, Any],
    owner_fields: Callable[[list[Any]], dict[str, Any]],
) -> tuple[str, bool]:
    """An Item's dict from record `r` (and owner `o`); whether it needs the owner."""
    entries = []
    needs_owner = False
    for key, (name, details) in fields.items():
        if name == "__typename":
            entries.append((key, repr(item_type.name)))
            continue
        field = plain_field(item_type, name)
        if name == "id":
            entries.append((key, "encode('Item', r.id)"))
        elif name in ITEM_ATTRIBUTES:
            entries.append((key, emitter.leaf(field, f"r.{ITEM_ATTRIBUTES[name]}")))
        elif name == "owner":
            user_type = get_named_type(field.type)
            assert isinstance(user_type, GraphQLObjectType)
            entries.append((key, user_expression(emitter, user_type, owner_fields(details), "o")))
            needs_owner = True
        else:
            raise Unplannable(f"Item.{name}")
    return _dict(entries), needs_owner
