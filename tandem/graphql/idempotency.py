"""Which GraphQL requests an Idempotency-Key applies to: one operation that is a mutation.

Queries change nothing, so a key on them is ignored. A batch (a JSON array) runs its
operations concurrently, each in its own transaction, which one stored answer could
not join: a key on a batch holding a mutation is refused rather than half-honoured.
The document is parsed within the token limit (graphql/documents.py), like every
parse, and priced as the operation gate prices it, so an answer the Idempotency-Key
middleware gives itself (a replay, a refusal) is charged as the operation would be.
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType

from tandem.domain.rate_limits import operation_cost
from tandem.graphql.documents import parse_document
from tandem.graphql.limits import analyse
from tandem.graphql.trusted import TrustedDocuments
from tandem.http.idempotency import GraphQLRequest

ADMISSION_COST = 1  # what the gate charges any operation before it is parsed


class MutationDetector:
    def __init__(self, trusted: TrustedDocuments, *, max_tokens: int) -> None:
        self._trusted = trusted
        self._max_tokens = max_tokens

    def __call__(self, body: bytes) -> GraphQLRequest:
        """What this POST body asks for (a document that fails to parse: "other")."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return GraphQLRequest("other", ADMISSION_COST)
        if isinstance(payload, list):
            if any(isinstance(one, dict) and self._mutation_cost(one) for one in payload):
                return GraphQLRequest("batched-mutation", ADMISSION_COST)
            return GraphQLRequest("other", ADMISSION_COST)
        cost = self._mutation_cost(payload) if isinstance(payload, dict) else None
        if cost is None:
            return GraphQLRequest("other", ADMISSION_COST)
        return GraphQLRequest("mutation", cost)

    def _mutation_cost(self, payload: dict[str, Any]) -> int | None:
        """The cost of the one mutation `payload` runs; None when it runs no mutation."""
        query, name = payload.get("query"), payload.get("operationName")
        extensions = payload.get("extensions")
        variables = payload.get("variables")
        name = name if isinstance(name, str) else None
        found = self._operation(
            query if isinstance(query, str) else None,
            extensions if isinstance(extensions, dict) else None,
            name,
        )
        if found is None or found[1].operation is not OperationType.MUTATION:
            return None
        document, _operation, text = found
        analysis = analyse(document, text, name, variables if isinstance(variables, dict) else {})
        return analysis.cost if analysis is not None else operation_cost(0, mutation=True)

    def operation_type(
        self, query: str | None, extensions: dict[str, Any] | None, name: str | None
    ) -> OperationType | None:
        """The type of the one operation a request names; None if it names none or several,
        or its document does not parse (execution will say why)."""
        found = self._operation(query, extensions, name)
        return None if found is None else found[1].operation

    def _operation(
        self, query: str | None, extensions: dict[str, Any] | None, name: str | None
    ) -> tuple[DocumentNode, OperationDefinitionNode, str] | None:
        try:
            text = self._trusted.resolve(query, extensions)
            if not isinstance(text, str):
                return None
            document = parse_document(text, max_tokens=self._max_tokens)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if name is not None:
            operations = [o for o in operations if o.name is not None and o.name.value == name]
        return (document, operations[0], text) if len(operations) == 1 else None
