"""Which GraphQL requests an Idempotency-Key applies to: one operation that is a mutation.

Queries change nothing, so a key on them is ignored. A batch (a JSON array) runs its
operations concurrently, each in its own transaction, which one stored answer could
not join: a key on a batch holding a mutation is refused rather than half-honoured.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType

from tandem.graphql.operation import cached_parse
from tandem.graphql.trusted import TrustedDocuments

Kind = Literal["mutation", "batched-mutation", "other"]


class MutationDetector:
    def __init__(self, trusted: TrustedDocuments) -> None:
        self._trusted = trusted

    def __call__(self, body: bytes) -> Kind:
        """What this POST body asks for (a document that fails to parse: "other")."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "other"
        if isinstance(payload, list):
            if any(isinstance(one, dict) and self._is_mutation(one) for one in payload):
                return "batched-mutation"
            return "other"
        return "mutation" if isinstance(payload, dict) and self._is_mutation(payload) else "other"

    def _is_mutation(self, payload: dict[str, Any]) -> bool:
        query, name = payload.get("query"), payload.get("operationName")
        extensions = payload.get("extensions")
        kind = self.operation_type(
            query if isinstance(query, str) else None,
            extensions if isinstance(extensions, dict) else None,
            name if isinstance(name, str) else None,
        )
        return kind is OperationType.MUTATION

    def operation_type(
        self, query: str | None, extensions: dict[str, Any] | None, name: str | None
    ) -> OperationType | None:
        """The type of the one operation a request names; None if it names none or several,
        or its document does not parse (execution will say why)."""
        try:
            text = self._trusted.resolve(query, extensions)
            if not isinstance(text, str):
                return None
            document = cached_parse(text)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if name is not None:
            operations = [o for o in operations if o.name is not None and o.name.value == name]
        return operations[0].operation if len(operations) == 1 else None
