"""`/graphql`: GraphQL over HTTP (POST, and GET for queries) and GraphiQL for browsers."""

from __future__ import annotations

from strawberry.fastapi import GraphQLRouter

from tandem.graphql.context import Context, get_context
from tandem.graphql.schema import build_schema


def graphql_router(*, development: bool) -> GraphQLRouter[Context, None]:
    return GraphQLRouter(
        build_schema(development=development),
        context_getter=get_context,
        graphql_ide="graphiql" if development else None,
        allow_queries_via_get=True,
        tags=["graphql"],
    )
