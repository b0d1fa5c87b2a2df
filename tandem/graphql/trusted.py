"""Trusted documents: operations a client names by their SHA-256 instead of sending the text.

A client built against Tandem ships a manifest of the documents it will run,
`{"<sha256 hex of the text>": "<the text>", ...}` (what GraphQL Code Generator's
persisted documents and Apollo's persisted query lists produce). Tandem loads it
at start-up (GRAPHQL_TRUSTED_DOCUMENTS), and a request may then carry Apollo's
`extensions.persistedQuery.sha256Hash` with no `query`: smaller requests, and a
document parsed and validated once for every client.

With GRAPHQL_TRUSTED_ONLY the manifest is an allow-list: any other document,
sent as text or by an unknown hash, is refused before it is parsed, so nothing
but the client's own operations can run (production, for a first-party client).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, parse

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"  # Apollo's code: its clients then send the text
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
BAD_INPUT = "BAD_USER_INPUT"


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class TrustedDocuments:
    """The manifest, by hash; `only`: refuse every document that is not in it."""

    documents: Mapping[str, str] = field(default_factory=dict)
    only: bool = False

    @classmethod
    def load(cls, path: Path | None, *, only: bool = False) -> TrustedDocuments:
        """Read and check a manifest; a wrong hash or an unparsable document stops start-up."""
        if path is None:
            if only:
                raise ValueError("an allow-list of trusted documents needs a manifest")
            return cls()
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not all(
            isinstance(key, str) and isinstance(text, str) for key, text in manifest.items()
        ):
            raise ValueError(f"{path}: a trusted documents manifest maps hashes to documents")
        for key, text in manifest.items():
            if key.lower() != document_hash(text):
                raise ValueError(f"{path}: {key} is not the SHA-256 of its document")
            try:
                parse(text)
            except GraphQLSyntaxError as error:
                raise ValueError(f"{path}: the document {key} does not parse: {error}") from error
        return cls({key.lower(): text for key, text in manifest.items()}, only=only)

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The text to run: the request's own, or the trusted document its hash names.

        Raises a GraphQLError with a code when the hash is unknown or does not match the
        text, or, in allow-list mode, when the document is not trusted.
        """
        wanted = _persisted_hash(extensions)
        if wanted is not None:
            if query is not None:
                if document_hash(query) != wanted:
                    raise _error("The query's SHA-256 is not the hash sent with it.", BAD_INPUT)
            else:
                query = self.documents.get(wanted)
                if query is None:
                    raise _error("No trusted document has this SHA-256 hash.", NOT_FOUND)
                return query
        if self.only and query is not None and document_hash(query) not in self.documents:
            raise _error("This server runs only its trusted documents.", NOT_ALLOWED)
        return query


def _persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """Apollo's `{"persistedQuery": {"version": 1, "sha256Hash": "…"}}`, lower-cased."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    wanted = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if not isinstance(wanted, str) or persisted.get("version", 1) != 1:
        raise _error(
            "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}.", BAD_INPUT
        )
    return wanted.lower()


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})
