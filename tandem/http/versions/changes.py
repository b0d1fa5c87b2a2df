"""The changes between versions, each written once, as Stripe writes its version changes.

A change is a subclass of `VersionChange` in a module of its own (this package), named
for what it changes. It says which version introduced it and how to turn that version's
shapes into the previous version's: an item's document, an event's document (the events
API's answer and a webhook's body), and the OpenAPI document. An answer is written in
the newest shape, then each change newer than the version asked for is undone, newest
first. The newest shapes (the domain's documents, the REST models) never mention an
older version.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tandem.http.versions import ApiVersion

Document = dict[str, Any]


class VersionChange:
    """One change between `version` and the version before it; see the module's docstring."""

    version: ClassVar[ApiVersion]
    description: ClassVar[str]  # one line, for the changelog of versions (docs, OpenAPI)

    def item(self, document: Document) -> Document:
        """The item's document as the previous version wrote it (the same by default)."""
        return document

    def event(self, document: Document) -> Document:
        """The event's document as the previous version wrote it: by default, its `item`."""
        data = document.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("item"), dict):
            return document
        item = self.item(data["item"])
        if item is data["item"]:
            return document
        return {**document, "data": {**data, "item": item}}

    def openapi(self, document: Document) -> None:
        """Turn this version's OpenAPI document into the previous version's, in place."""


def renamed(document: Document, new: str, old: str) -> Document:
    """`document` with key `new` called `old`, in the same place (key order is bytes)."""
    if new not in document:
        return document
    return {(old if key == new else key): value for key, value in document.items()}


def rename_property(schema: Document, new: str, old: str) -> None:
    """An object schema's property `new` called `old`, in place (and in `required`)."""
    properties = schema.get("properties")
    if not isinstance(properties, dict) or new not in properties:
        return
    shown = dict(properties[new])
    if shown.get("title") == new.replace("_", " ").title():
        shown["title"] = old.replace("_", " ").title()
    schema["properties"] = {
        (old if key == new else key): (shown if key == new else value)
        for key, value in properties.items()
    }
    if new in schema.get("required", []):
        schema["required"] = [old if name == new else name for name in schema["required"]]
