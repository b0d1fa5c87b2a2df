"""The Strawberry schema: the feature slices' queries and mutations, merged."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from tandem.graphql.auth.mutations import RecoveryMutations
from tandem.graphql.items.mutations import ItemMutations
from tandem.graphql.items.queries import ItemQueries
from tandem.graphql.items.subscriptions import ItemSubscriptions
from tandem.graphql.items.types import Item
from tandem.graphql.limits import Limits
from tandem.graphql.nodes import NodeQueries
from tandem.graphql.operation import OperationGate, validation_rules
from tandem.graphql.plan.executor import PlannedExecution
from tandem.graphql.trusted import TrustedDocuments
from tandem.graphql.users.mutations import UserMutations
from tandem.graphql.users.queries import UserQueries
from tandem.graphql.users.types import User


@strawberry.type
class Query(NodeQueries, UserQueries, ItemQueries):
    pass


@strawberry.type
class Mutation(ItemMutations, UserMutations, RecoveryMutations):
    pass


@strawberry.type
class Subscription(ItemSubscriptions):
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
    trusted: TrustedDocuments | None = None,
) -> strawberry.Schema:
    """The schema; its one extension is passed as a factory, so no request shares an instance."""
    gate = partial(
        OperationGate,
        limits=limits or Limits(),
        max_tokens=max_tokens,
        rules=validation_rules(introspection=development, limits=limits or Limits()),
        trusted=trusted or TrustedDocuments(),
    )
    config = StrawberryConfig(
        disable_field_suggestions=not development,
        batching_config={"max_operations": max_batch},
    )
    return TandemSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Item, User],
        extensions=[gate],
        config=config,
        execution_context_class=PlannedExecution,  # hot queries planned (tandem/graphql/plan/)
    )


def sdl() -> str:
    """The schema in SDL, as `tandem export-schema` prints it and schema.graphql holds it."""
    return build_schema().as_str() + "\n"
