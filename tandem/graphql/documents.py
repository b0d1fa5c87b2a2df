"""Parsed and validated GraphQL documents, shared by every request, bounded in bytes.

Every parse in the process goes through `parse_document`, which stops at the token
limit (GRAPHQL_MAX_TOKENS) before anything is kept: a 1 MiB document of half a
million tokens is refused after the first few thousand, in about a millisecond,
and leaves nothing behind. A document that parses is kept by the SHA-256 of its
text (never the text as a key: a key would hold the whole text), with the
validation errors of each (schema, rules) it was checked against, until the bytes
kept pass `max_bytes`; the least recently used go first.

A parsed document's size is mostly its tokens (graphql-core keeps each one, linked,
for locations in errors): about 480 bytes a token, measured with tracemalloc on
this schema's documents, so an entry weighs `TOKEN_BYTES` a token plus its text.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    Source,
    SourceLocation,
    parse,
)
from graphql.validation import ASTValidationRule
from strawberry.schema.schema import validate_document

TOKEN_BYTES = 512
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class _Entry:
    document: DocumentNode
    weight: int
    checked: dict[tuple[Any, Any], list[GraphQLError]] = field(default_factory=dict)


def weight_of(text: str, document: DocumentNode) -> int:
    """What keeping `document` costs, in bytes (roughly, and never less than its text)."""
    tokens = 0
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        tokens += 1
        token = token.next
    return len(text) + TOKEN_BYTES * tokens


class DocumentCache:
    """See the module's docstring."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._by_document: dict[int, _Entry] = {}  # id(document) -> its entry, while kept
        # A refused text's digest -> where and why: one request asks up to three times
        # (operation type, Idempotency-Key, limits), and a client may send it again.
        self._refused: OrderedDict[bytes, tuple[int, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def parse(self, text: str, *, max_tokens: int) -> DocumentNode:
        """`text` parsed, reading at most `max_tokens` tokens (GraphQLSyntaxError past them)."""
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest() + max_tokens.to_bytes(
            4, "big"
        )
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry.document
        refused = self._refused.get(key)
        if refused is not None:
            position, description = refused
            raise GraphQLSyntaxError(_Source(text), position, description)
        try:
            document = parse(_Source(text), max_tokens=max_tokens)
        except GraphQLSyntaxError as error:
            if error.positions:
                position = next(iter(error.positions))
                self._refused[key] = (position, error.message.removeprefix(_SYNTAX))
                while len(self._refused) > MAX_REFUSALS:
                    self._refused.popitem(last=False)
            raise
        weight = weight_of(text, document)
        if weight <= self.max_bytes // 4:  # one huge document never empties the cache
            self._keep(key, _Entry(document, weight))
        return document

    def validate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        """The validation errors of `document` under `rules`; computed once per kept document."""
        entry = self._by_document.get(id(document))
        if entry is None or entry.document is not document:
            return list(validate_document(schema, document, rules))
        found = entry.checked.get((schema, rules))
        if found is None:
            found = list(validate_document(schema, document, rules))
            entry.checked[(schema, rules)] = found
        return found

    def clear(self) -> None:
        self._refused.clear()
        self._entries.clear()
        self._by_document.clear()
        self.bytes = 0

    def _keep(self, key: bytes, entry: _Entry) -> None:
        self._entries[key] = entry
        self._by_document[id(entry.document)] = entry
        self.bytes += entry.weight
        while self.bytes > self.max_bytes and self._entries:
            _key, gone = self._entries.popitem(last=False)
            self._by_document.pop(id(gone.document), None)
            self.bytes -= gone.weight


_SYNTAX = "Syntax Error: "
MAX_REFUSALS = 1024  # each a digest, a position and a sentence: about 200 bytes


class _Source(Source):
    """graphql-core's Source, locating an error by reading the text only up to it.

    Its own `get_location` scans the whole body for line breaks: a 1 MiB document refused
    at its 2,001st token spent most of its refusal there (measured in tests/graphql/
    test_parse_limit.py's docstring), the rest of the text unread by the parser.
    """

    def get_location(self, position: int) -> SourceLocation:
        return Source(self.body[:position]).get_location(position)


DOCUMENTS = DocumentCache()


def parse_document(text: str, *, max_tokens: int) -> DocumentNode:
    """The process's one way to parse a document (see the module's docstring)."""
    return DOCUMENTS.parse(text, max_tokens=max_tokens)


def validate_cached(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return DOCUMENTS.validate(schema, document, rules)
