"""What a query reads of a type's records, and that type's nodes made of only that.

A GraphQL object type here is made from one domain record (`Item` from an `ItemRecord`,
`User` from a `UserRecord`). Each of its fields reads the record field of its own name,
or, for the few that do not (`id`, `databaseId`, a relation), the fields `derived` names.
So the fields a query selects say which record fields it reads: a list reads only those
columns (domain.pages.Reads), and makes nodes holding only those values. A field that
reads neither way makes the whole record read: a new field can cost speed, never answers
(tests/graphql/test_projection.py checks every field of both types reads one way).

The node makers are generated functions, one per type and set of fields (a page of 50
items builds 50 nodes): the record's fields read by name into the node's `__dict__` in
one dict display, with the global id; the zip-and-update they replaced cost 2.4 times as
much a node (timeit: 1.70 against 0.72 µs). Only the `id` field reads the global id (the
resolvers read `database_id`), so a node made for a selection without it holds none: the
bench's list asks its 50 owners for their name only, and made 50 ids nobody read.
"""

from __future__ import annotations

import binascii
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, Generic, TypeVar

from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import get_object_definition

from tandem.domain import global_ids

# Fields every type reads the same way.
_COMMON: Mapping[str, tuple[str, ...]] = {"__typename": (), "id": ("id",), "databaseId": ("id",)}


N = TypeVar("N")
_NAMES = NameConverter()  # the schema's own (tandem/graphql/schema.py keeps its default)


class Projection(Generic[N]):
    """`kind` (a Strawberry type) made from `record` (a dataclass), as the module says.

    `derived`: GraphQL field name -> the record fields it reads, for the fields that do not
    read their own name (None: the whole record, for a field that hands it on).
    `entries`: node attributes that are not the record's fields, as expressions of `record`
    and `extra` (the maker's second argument).
    """

    def __init__(
        self,
        kind: type[N],
        record: type,
        *,
        derived: Mapping[str, tuple[str, ...] | None],
        entries: Mapping[str, str],
    ) -> None:
        self.kind = kind
        definition = get_object_definition(kind, strict=True)
        record_fields = {entry.name for entry in dataclasses.fields(record)}
        # A field with a resolver reads the record itself (`entries` puts it on the node).
        self.copied = tuple(
            field.python_name
            for field in definition.fields
            if field.python_name in record_fields
            and field.python_name != "id"
            and field.base_resolver is None
        )
        reads: dict[str, tuple[str, ...] | None] = {**_COMMON, **derived}
        for field in definition.fields:
            name = _NAMES.get_graphql_name(field)  # as the schema names it (camelCase)
            if field.python_name in record_fields and name not in reads:
                reads[name] = (field.python_name,)
        self.field_reads: Mapping[str, tuple[str, ...] | None] = reads
        self._entries = entries
        self._id = global_ids.template(definition.name)
        self.maker: Callable[[frozenset[str] | None, bool], Callable[..., N]]
        self.maker = lru_cache(maxsize=64)(self._maker)

    def reads(self, selected: Iterable[str]) -> frozenset[str] | None:
        """The record fields these GraphQL fields read; None (all) if one is not known."""
        fields: set[str] = set()
        field_reads = self.field_reads
        for name in selected:
            reads = field_reads.get(name)
            if reads is None:  # not known, or reads the whole record
                return None
            fields.update(reads)
        return frozenset(fields)

    def node_maker(self, selected: Iterable[str]) -> Callable[..., N]:
        """The maker of nodes for these GraphQL fields: holding what they read, and the
        global id only if `id` is among them (or one of them reads the whole record)."""
        selected = frozenset(selected)
        fields = self.reads(selected)
        return self.maker(fields, fields is None or "id" in selected)

    def _maker(self, fields: frozenset[str] | None, ids: bool = True) -> Callable[..., N]:
        """`make(record, extra=None)`: a node holding the record's `fields` (None: all), and
        its global id if `ids`."""
        copied = [name for name in self.copied if fields is None or name in fields]
        entries = [f"{name!r}: record.{name}" for name in copied]
        entries += [f"{key!r}: {value}" for key, value in self._entries.items()]
        global_id = "'id': b2a(ID % record.id, newline=False).decode(), " if ids else ""
        source = (
            "def make(record, extra=None):\n"
            "    node = new(kind)\n"
            f"    node.__dict__ = {{{global_id}"
            f"'database_id': record.id, {', '.join(entries)}}}\n"
            "    return node\n"
        )
        namespace: dict[str, Any] = {
            "new": object.__new__,
            "kind": self.kind,
            "b2a": binascii.b2a_base64,
            "ID": self._id,  # the global id, as global_ids.encode makes it
        }
        exec(source, namespace)  # noqa: S102 - generated from the types' own field names
        make: Callable[..., N] = namespace["make"]
        return make
