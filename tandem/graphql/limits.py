"""What an operation may ask for, decided before anything is resolved, and what it costs.

Depth, aliases and root fields bound the shape of a document; the node budget
bounds what it can return, computed GitHub's way: the product of the `first`
arguments down each path (with the request's variables), summed over every
connection. The same walk counts the requests an operation may need, which
prices it against the principal's rate limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from tandem.domain.pages import MAX_PAGE_SIZE
from tandem.domain.rate_limits import (
    Quota,
    RateLimited,
    RateLimiter,
    operation_cost,
    subject_of,
)

DEFAULT_FIRST = 20
CONNECTIONS = frozenset({"items", "users"})  # fields paged by `first`
TOO_COMPLEX = "QUERY_TOO_COMPLEX"


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 30
    max_root_fields: int = 20
    max_nodes: int = 50_000


@dataclass(slots=True)
class Analysis:
    depth: int = 0
    aliases: int = 0
    root_fields: int = 0
    nodes: int = 0
    requests: int = 0
    mutation: bool = False


@dataclass(slots=True)
class Walk:
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    analysis: Analysis = field(default_factory=Analysis)

    def selection_set(
        self, selections: SelectionSetNode, *, depth: int, multiplier: int, seen: frozenset[str]
    ) -> None:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, depth=depth, multiplier=multiplier, seen=seen)
            elif isinstance(selection, InlineFragmentNode):
                self.selection_set(
                    selection.selection_set, depth=depth, multiplier=multiplier, seen=seen
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    self.selection_set(
                        fragment.selection_set,
                        depth=depth,
                        multiplier=multiplier,
                        seen=seen | {name},
                    )

    def field(self, node: FieldNode, *, depth: int, multiplier: int, seen: frozenset[str]) -> None:
        name = node.name.value
        if name.startswith("__"):  # introspection is bounded by the schema, not the caller
            return
        analysis = self.analysis
        if node.alias is not None:
            analysis.aliases += 1
        if depth == 1:
            analysis.root_fields += 1
        analysis.depth = max(analysis.depth, depth)
        if name in CONNECTIONS:
            first = self.int_argument(node, "first", DEFAULT_FIRST)
            analysis.requests += multiplier
            multiplier *= first
            analysis.nodes += multiplier
        elif name == "nodes" and depth == 1:  # Query.nodes(ids:), not a connection's `nodes`
            analysis.requests += multiplier
            multiplier *= self.list_length(node, "ids")
            analysis.nodes += multiplier
        if node.selection_set is not None:
            self.selection_set(
                node.selection_set, depth=depth + 1, multiplier=multiplier, seen=seen
            )

    def argument(self, node: FieldNode, name: str) -> ValueNode | None:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return argument.value
        return None

    def int_argument(self, node: FieldNode, name: str, default: int) -> int:
        value = self.argument(node, name)
        if value is None:
            return default
        number = value_from_ast_untyped(value, self.variables)
        if not isinstance(number, int) or isinstance(number, bool):
            return default
        # Out-of-range values are refused by the domain; price them at what they could ask.
        return max(0, min(number, MAX_PAGE_SIZE * 1000))

    def list_length(self, node: FieldNode, name: str) -> int:
        value = self.argument(node, name)
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            return len(given) if isinstance(given, list) else 1
        return 1


def analyse(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> Analysis:
    # A variable the request leaves out takes its default, in the resolvers and so here.
    defaults = {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    walk = Walk(fragments=fragments, variables={**defaults, **variables})
    walk.analysis.mutation = operation.operation == OperationType.MUTATION
    walk.selection_set(operation.selection_set, depth=1, multiplier=1, seen=frozenset())
    return walk.analysis


def violations(analysis: Analysis, limits: Limits) -> list[str]:
    problems = []
    if analysis.depth > limits.max_depth:
        problems.append(f"depth {analysis.depth} exceeds {limits.max_depth}")
    if analysis.aliases > limits.max_aliases:
        problems.append(f"{analysis.aliases} aliases exceed {limits.max_aliases}")
    if analysis.root_fields > limits.max_root_fields:
        problems.append(f"{analysis.root_fields} root fields exceed {limits.max_root_fields}")
    if analysis.nodes > limits.max_nodes:
        problems.append(f"it could return {analysis.nodes} nodes; the budget is {limits.max_nodes}")
    return problems


ADMISSION_COST = 1


class OperationLimits(SchemaExtension):
    """Refuse an operation over the limits, charge its cost, report it in `extensions.cost`.

    Every operation pays one point before it is even parsed, so documents that
    fail to parse, validate or pass the limits are not free, and a spent budget
    is refused before any work. The rest of the cost is charged when execution
    starts (the variables are known then), before any resolver runs.
    """

    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        self.requested: int | None = None
        self.paid = 0
        self.mutation = False
        self.quota: Any = None

    async def on_operation(self) -> AsyncIterator[None]:
        await self._spend(ADMISSION_COST)  # RATE_LIMITED here stops the operation unparsed
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = _operation(document, context.operation_name) if document else None
        if document is not None and operation is not None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            analysis = analyse(operation, fragments, context.variables or {})
            problems = violations(analysis, self.limits)
            if problems:
                context.result = _refusal(
                    "The query is too complex: " + "; ".join(problems) + ".", TOO_COMPLEX
                )
            else:
                await self._charge(analysis)
        yield

    async def _charge(self, analysis: Analysis) -> None:
        cost = operation_cost(analysis.requests, mutation=analysis.mutation)
        self.requested, self.mutation = cost, analysis.mutation
        try:
            await self._spend(cost - self.paid)
        except RateLimited as error:
            # A refusal spends nothing: the admission point goes back.
            await self._refund()
            self.execution_context.result = _refusal(error.message, "RATE_LIMITED")

    def _budget(self) -> tuple[RateLimiter | None, str]:
        """The rate limiter (None when off) and whose budget this operation spends."""
        graphql_context = self.execution_context.context
        principal = graphql_context.principal
        subject = subject_of(principal.user_id if principal else None, graphql_context.address)
        return graphql_context.services.rate_limiter, subject

    def _publish(self, quota: Quota | None) -> None:
        """The quota goes into the response's X-RateLimit headers (see RequestContext)."""
        self.quota = quota
        if quota is not None:
            request = self.execution_context.context.request
            request.scope.setdefault("state", {})["rate_limit"] = quota

    async def _refund(self) -> None:
        limiter, subject = self._budget()
        if limiter is not None and self.paid:
            self._publish(await limiter.refund(subject, self.paid))
            self.paid = 0

    async def _spend(self, points: int) -> None:
        """Charge the caller's budget; on refusal answer 429 with Retry-After, and re-raise."""
        limiter, subject = self._budget()
        if limiter is None or points <= 0:
            return
        try:
            self._publish(await limiter.charge(subject, points))
            self.paid += points
        except RateLimited as error:
            self._publish(error.quota)
            response = self.execution_context.context.response
            if response is not None:
                response.status_code = 429
                response.headers["Retry-After"] = str(error.retry_after)
            raise

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        graphql_context = self.execution_context.context
        actual = operation_cost(graphql_context.connections_resolved, mutation=self.mutation)
        cost: dict[str, Any] = {"requestedQueryCost": self.requested, "actualQueryCost": actual}
        if self.quota is not None:
            cost["throttleStatus"] = {
                "maximumAvailable": self.quota.limit,
                "currentlyAvailable": self.quota.remaining,
                "resetAt": self.quota.reset_at,
            }
        return {"cost": cost}


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _refusal(message: str, code: str) -> GraphQLExecutionResult:
    return GraphQLExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": code})]
    )
