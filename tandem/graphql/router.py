"""`/graphql`: GraphQL over HTTP (POST, and GET for queries) and GraphiQL for browsers."""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from fastapi import Request
from starlette.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from tandem.config import Settings
from tandem.graphql.context import Context, get_context
from tandem.graphql.errors import with_code
from tandem.graphql.limits import Limits
from tandem.graphql.schema import build_schema
from tandem.graphql.trusted import TrustedDocuments

# Strawberry refuses some requests before any operation runs, in plain text; we answer in
# GraphQL's own shape, with a code.
TRANSPORT_CODES = {"Too many operations": "QUERY_TOO_COMPLEX"}


class TandemGraphQLRouter(GraphQLRouter[Context, None]):
    def __init__(self, settings: Settings) -> None:
        development = settings.is_development
        super().__init__(
            build_schema(
                development=development,
                limits=Limits(
                    max_depth=settings.graphql_max_depth,
                    max_aliases=settings.graphql_max_aliases,
                    max_root_fields=settings.graphql_max_root_fields,
                    max_nodes=settings.graphql_max_nodes,
                ),
                max_tokens=settings.graphql_max_tokens,
                max_batch=settings.graphql_max_batch,
                trusted=TrustedDocuments.load(
                    settings.graphql_trusted_documents, only=settings.graphql_trusted_only
                ),
            ),
            context_getter=get_context,
            graphql_ide="graphiql" if development else None,
            allow_queries_via_get=True,
            # The GraphQL face is described by its own schema (schema.graphql, introspection);
            # OpenAPI would describe it wrongly, as one opaque JSON operation.
            include_in_schema=False,
        )
        self.mask_unexpected = not development
        self.hide_suggestions = not development

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as error:
            code = TRANSPORT_CODES.get(error.reason, "BAD_REQUEST")
            body = {"errors": [{"message": error.reason, "extensions": {"code": code}}]}
            return JSONResponse(body, status_code=error.status_code)

    def encode_json(self, data: object) -> bytes:
        """orjson, not the standard library: scalars are already serialized to JSON types."""
        return orjson.dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            request_id = request.scope.get("state", {}).get("request_id")
            result.errors = [
                with_code(
                    error,
                    request_id=request_id,
                    mask_unexpected=self.mask_unexpected,
                    hide_suggestions=self.hide_suggestions,
                )
                for error in result.errors
            ]
        return await super().process_result(request, result)
