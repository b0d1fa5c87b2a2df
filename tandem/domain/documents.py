"""A record's public JSON, derived from its dataclass: one encoder per shape, and its inverse.

The REST answer, the event's `data`, the webhook's body and the record a subscription
rebuilds all come from `Document.encode` (and back through `Document.decode`), so a
field added to the record is in every one of them, in the record's order, with
`node_id` (the GraphQL global id) after `id`. Fields marked `INTERNAL` in their
metadata are left out. A field whose metadata names a `public` key is stored under its
own name (an event's `data`, read back by `decode`) and shown under the public one
(`encode_native`, `publish`): the item's `version` is shown as `revision`.
A value is written as the REST face writes it: a decimal as a
string (a JSON number would be a binary float), a datetime in ISO 8601 with UTC as
`Z`, anything else as it is.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from types import UnionType
from typing import Any, Generic, TypeVar

from tandem.domain import global_ids

R = TypeVar("R")


def iso(moment: datetime) -> str:
    """ISO 8601 as the REST face writes it: UTC as `Z`."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _kind(hint: Any) -> type | None:
    """Decimal or datetime when the field holds one (or None), else None: written as it is."""
    options = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
    for option in options:
        if option in (Decimal, datetime):
            return option  # type: ignore[no-any-return]
    return None


class Document(Generic[R]):
    """The public JSON of records of one dataclass; see the module's docstring."""

    def __init__(self, record: type[R], *, node: str) -> None:
        hints = typing.get_type_hints(record)
        public = [
            entry.name
            for entry in dataclasses.fields(record)  # type: ignore[arg-type]
            if not entry.metadata.get("internal")
        ]
        if public[0] != "id":
            raise TypeError(f"{record.__name__}: a document's first field is its id")
        self.record = record
        self.node = node
        self.fields = tuple(public)  # the record's public fields, in order
        shown = {
            entry.name: entry.metadata["public"]
            for entry in dataclasses.fields(record)  # type: ignore[arg-type]
            if "public" in entry.metadata
        }
        self.shown = shown  # a field's public key, where it is not the field's name
        self.stored_keys = ("id", "node_id", *public[1:])  # `encode`'s, an event's data
        self.keys = ("id", "node_id", *(shown.get(name, name) for name in public[1:]))
        self._decimals = tuple(name for name in public if _kind(hints[name]) is Decimal)
        self._times = tuple(name for name in public if _kind(hints[name]) is datetime)
        # One function per way of writing datetimes, written out as a dict display: a page
        # of 50 items costs 50 calls of it (a loop over the fields cost twice as much).
        self.encode = self._compile(times=True, public=False)
        """The record's JSON as stored (an event's data): fields under their own names."""
        self.encode_native = self._compile(times=False, public=True)
        """The record's public JSON, datetimes left to a serializer that writes them the same
        way (orjson with `OPT_UTC_Z`, on the REST face)."""

    def publish(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A stored document (`encode`'s) under its public keys, each in its place."""
        if not any(name in stored for name in self.shown):
            return stored
        return {self.shown.get(key, key): value for key, value in stored.items()}

    def _compile(self, *, times: bool, public: bool) -> Callable[[R], dict[str, Any]]:
        entries = [f"'id': r.id, 'node_id': encode({self.node!r}, r.id)"]
        for name in self.fields[1:]:
            value = f"r.{name}"
            if name in self._decimals:
                value = f"None if r.{name} is None else str(r.{name})"
            elif name in self._times and times:
                value = f"None if r.{name} is None else iso(r.{name})"
            key = self.shown.get(name, name) if public else name
            entries.append(f"{key!r}: {value}")
        source = "lambda r: {" + ", ".join(entries) + "}"
        names = {"encode": global_ids.encode, "iso": iso}
        function: Callable[[R], dict[str, Any]] = eval(source, names)  # noqa: S307 - the record's own field names
        return function

    def decode(self, document: dict[str, Any]) -> R:
        """The record a document was encoded from (what an event recorded, read back)."""
        values: dict[str, Any] = {name: document.get(name) for name in self.fields}
        for name in self._decimals:
            if values[name] is not None:
                values[name] = Decimal(values[name])
        for name in self._times:
            if values[name] is not None:
                values[name] = datetime.fromisoformat(values[name])
        return self.record(**values)
