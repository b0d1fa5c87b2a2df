"""The Strawberry schema: the feature slices' queries and mutations, merged."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from tandem.graphql.items.mutations import ItemMutations
from tandem.graphql.items.queries import ItemQueries
from tandem.graphql.items.types import Item
from tandem.graphql.limits import Limits, OperationLimits
from tandem.graphql.nodes import NodeQueries
from tandem.graphql.users.mutations import UserMutations
from tandem.graphql.users.queries import UserQueries
from tandem.graphql.users.types import User

# Bounded, so a flood of distinct documents cannot grow memory without limit.
DOCUMENT_CACHE_SIZE = 512


@strawberry.type
class Query(NodeQueries, UserQueries, ItemQueries):
    pass


@strawberry.type
class Mutation(ItemMutations, UserMutations):
    pass


class TandemSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Silent: the router logs unexpected errors once, with the request id."""


def build_schema(
    *,
    development: bool = True,
    limits: Limits | None = None,
    max_tokens: int = 2000,
    max_batch: int = 10,
) -> strawberry.Schema:
    """The schema; extensions are passed as factories, so no request shares an instance."""
    extensions: list[Any] = [
        partial(MaxTokensLimiter, max_token_count=max_tokens),  # before the parser cache
        partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
        partial(OperationLimits, limits=limits or Limits()),
    ]
    if not development:
        extensions.append(DisableIntrospection)
    config = StrawberryConfig(
        disable_field_suggestions=not development,
        batching_config={"max_operations": max_batch},
    )
    return TandemSchema(
        query=Query, mutation=Mutation, types=[Item, User], extensions=extensions, config=config
    )


def sdl() -> str:
    """The schema in SDL, as `tandem export-schema` prints it and schema.graphql holds it."""
    return build_schema().as_str() + "\n"
