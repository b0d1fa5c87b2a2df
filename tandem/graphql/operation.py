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
from functools import lru_cache
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, get_operation_ast, parse, specified_rules
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.schema import validate_document

from tandem.domain.rate_limits import (
    Quota,
    RateLimited,
    RateLimiter,
    operation_cost,
    subject_of,
)
from tandem.graphql.limits import Analysis, Limits, analyse, violations
from tandem.graphql.trusted import TrustedDocuments
from tandem.observability.requests import note_operation

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
ADMISSION_COST = 1
# Bounded, so a flood of distinct documents cannot grow memory without limit.
DOCUMENT_CACHE_SIZE = 512

cached_parse = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(parse)
cached_validate = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(validate_document)


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
            context.graphql_document = cached_parse(context.query, **context.parse_options)
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
