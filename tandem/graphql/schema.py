"""The Strawberry schema: the feature slices' queries and mutations, merged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StreamResult
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from tandem.graphql.auth.mutations import RecoveryMutations
from tandem.graphql.execution import Operation, Rules, execute_operation, stream_operation
from tandem.graphql.items.mutations import ItemMutations
from tandem.graphql.items.queries import ItemQueries
from tandem.graphql.items.subscriptions import ItemSubscriptions
from tandem.graphql.items.types import Item
from tandem.graphql.limits import Limits
from tandem.graphql.nodes import NodeQueries
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
    """Strawberry's schema, run by Tandem's one operation function (tandem/graphql/execution.py)
    wherever Strawberry would run it: its socket and SSE handlers call `stream`."""

    def __init__(self, *args: Any, rules: Rules | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules or Rules.of(introspection=True)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Silent: the router logs unexpected errors once, with the request id."""

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        operation = Operation.of(
            query,
            variable_values,
            operation_name,
            operation_extensions,
            context_value,
            allowed_operation_types,
        )
        return await execute_operation(self, operation)

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        operation = Operation.of(
            query,
            variable_values,
            operation_name,
            operation_extensions,
            context_value,
            allowed_operation_types,
        )
        return stream_operation(self, operation)


def build_schema(
    *,
    development: bool = True,
    limits: Limits | None = None,
    max_tokens: int = 2000,
    max_batch: int = 10,
    trusted: TrustedDocuments | None = None,
) -> TandemSchema:
    """The schema, with the rules every operation is held to (tandem/graphql/execution.py)."""
    rules = Rules.of(
        introspection=development, limits=limits, max_tokens=max_tokens, trusted=trusted
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
        config=config,
        execution_context_class=PlannedExecution,  # hot queries planned (tandem/graphql/plan/)
        rules=rules,
    )


def sdl() -> str:
    """The schema in SDL, as `tandem export-schema` prints it and schema.graphql holds it."""
    return build_schema().as_str() + "\n"
