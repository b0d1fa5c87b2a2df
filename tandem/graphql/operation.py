"""Everything Tandem does around each GraphQL operation, as one schema extension.

Strawberry runs every extension's hooks on every operation, and each one costs
a lookup and a context manager per hook whether it does anything or not; one
extension in place of five (token cap, parser cache, validation cache,
introspection off, limits and cost) is measured in docs/performance.md. In order:

1. `on_operation`: caps the tokens the parser will read, turns introspection
   off in production, and charges one point before anything is parsed, so
   refused documents are not free and a spent budget is refused before any work;
   then takes a trusted document named by its hash, or refuses an untrusted one
   in allow-list mode (tandem/graphql/trusted.py).
2. `on_parse` and `on_validate`: parse and validate through bounded caches,
   so a hot document is parsed and validated once.
3. `on_execute`: refuses an operation over the limits (tandem/graphql/limits.py)
   and charges the rest of its cost, with the request's variables, before any
   resolver runs; a refusal gives back the point already paid.
4. `get_results`: reports the cost in `extensions.cost`, GitHub's way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, get_operation_ast, specified_rules
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from tandem.domain import reads
from tandem.domain.rate_limits import Quota, RateLimited, operation_cost
from tandem.graphql.documents import parse_document, validate_cached
from tandem.graphql.limits import Analysis, Limits, analyse, violations
from tandem.graphql.trusted import TrustedDocuments
from tandem.observability.requests import note_operation

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
ADMISSION_COST = 1

# Every parse stops at the token limit; the cache is bounded in bytes (graphql/documents.py).
cached_parse = parse_document
cached_validate = validate_cached


class OperationGate(SchemaExtension):
    """Caps, caches, limits and prices one operation; see the module's docstring."""

    def __init__(
        self,
        *,
        limits: Limits,
        max_tokens: int,
        rules: tuple[type[ASTValidationRule], ...],
        trusted: TrustedDocuments,
    ) -> None:
        self.limits = limits
        self.max_tokens = max_tokens
        self.rules = rules
        self.trusted = trusted
        self.requested: int | None = None
        self.paid = 0
        self.mutation = False
        self.quota: Quota | None = None

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = self.rules
        await self._spend(ADMISSION_COST)  # RATE_LIMITED here stops the operation unparsed
        context.query = self.trusted.resolve(context.query, context.operation_extensions)
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            context.graphql_document = cached_parse(context.query, max_tokens=self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            context.pre_execution_errors = cached_validate(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        analysis = None
        if document is not None:
            operation = get_operation_ast(document, context.operation_name)
            if operation is not None:  # for the request's log line and metrics
                name = operation.name.value if operation.name else None
                note_operation(name, operation.operation.value)
                if reads.enabled:  # a query may read from a replica (domain/reads.py)
                    reads.operation_reads_only(operation.operation.value == "query")
            analysis = analyse(
                document, context.query, context.operation_name, context.variables or {}
            )
        if analysis is not None:
            problems = violations(analysis, self.limits)
            if problems:
                context.result = _refusal(
                    "The query is too complex: " + "; ".join(problems) + ".", TOO_COMPLEX
                )
            else:
                await self._charge(analysis)
        yield

    async def _charge(self, analysis: Analysis) -> None:
        cost = analysis.cost
        self.requested, self.mutation = cost, analysis.mutation
        try:
            await self._spend(cost - self.paid)
        except RateLimited as error:
            # A refusal spends nothing: the admission point goes back.
            await self._refund()
            self.execution_context.result = _refusal(error.message, "RATE_LIMITED")

    async def _refund(self) -> None:
        if self.paid:
            admission = self.execution_context.context.admission
            await admission.refund(self.paid)
            self.paid, self.quota = 0, admission.quota

    async def _spend(self, points: int) -> None:
        """Charge the caller's budget (the request's admission); on refusal answer 429 with
        Retry-After, and re-raise."""
        if points <= 0:
            return
        graphql_context = self.execution_context.context
        admission = graphql_context.admission
        try:
            await admission.charge(points)
            self.paid += points
        except RateLimited as error:
            response = graphql_context.response
            if response is not None:
                response.status_code = 429
                response.headers["Retry-After"] = str(error.retry_after)
            raise
        finally:
            self.quota = admission.quota

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


def validation_rules(*, introspection: bool, limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    """GraphQL's rules, Strawberry's depth and alias limits, and in production no introspection.

    Strawberry's rules run inside the cached validation, so a hot document pays for them
    once. Its depth counts from 0 at the root fields; ours from 1, hence the - 1.
    """
    extra = () if introspection else (NoSchemaIntrospectionCustomRule,)
    shape = (
        depth_validator(limits.max_depth - 1, None),
        aliases_validator(limits.max_aliases),
    )
    return (*specified_rules, *shape, *extra)


def _refusal(message: str, code: str) -> GraphQLExecutionResult:
    return GraphQLExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": code})]
    )
