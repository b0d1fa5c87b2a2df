"""`/graphql`: GraphQL over HTTP (POST, and GET for queries) and GraphiQL for browsers."""

from __future__ import annotations

from fastapi import Request
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from tandem.graphql.context import Context, get_context
from tandem.graphql.errors import with_code
from tandem.graphql.schema import build_schema


class TandemGraphQLRouter(GraphQLRouter[Context, None]):
    def __init__(self, *, development: bool) -> None:
        super().__init__(
            build_schema(development=development),
            context_getter=get_context,
            graphql_ide="graphiql" if development else None,
            allow_queries_via_get=True,
            tags=["graphql"],
        )
        self.mask_unexpected = not development

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            request_id = request.scope.get("state", {}).get("request_id")
            result.errors = [
                with_code(error, request_id=request_id, mask_unexpected=self.mask_unexpected)
                for error in result.errors
            ]
        return await super().process_result(request, result)


def graphql_router(*, development: bool) -> TandemGraphQLRouter:
    return TandemGraphQLRouter(development=development)
