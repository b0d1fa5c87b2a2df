"""One GraphQL operation, from its text to its result: the one way Tandem runs one.

`execute_operation` serves every HTTP request (tandem/graphql/router.py), and
`stream_operation` every WebSocket and graphql-sse operation (through
`TandemSchema.stream`, which Strawberry's socket and SSE handlers call); the
schema has no extension, so Strawberry's extension runner is never on the path.
In order, for one operation:

1. Charge one point before anything is parsed, so refused documents are not free
   and a spent budget is refused before any work (429 with Retry-After on HTTP);
   then take a trusted document named by its hash, or refuse an untrusted one in
   allow-list mode (tandem/graphql/trusted.py).
2. Parse within the token limit and validate, both through the bounded caches of
   tandem/graphql/documents.py, so a hot document is parsed and validated once;
   the operation's type is checked against what the transport allows (a mutation
   sent by GET) before validation, as Strawberry's `execute` did.
3. Refuse an operation over the limits (tandem/graphql/limits.py) and charge the
   rest of its cost, with the request's variables, before any resolver runs; a
   refusal gives back the point already paid.
4. Execute with graphql-core and the planned executor
   (tandem/graphql/plan/executor.py; its executor built by plan/start.py), or
   subscribe.
5. Report the cost in `extensions.cost`, GitHub's way.

Errors get their codes where results are written out (`with_code`, by the HTTP
endpoint and the socket handler), because a transport adds refusals of its own.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    get_operation_ast,
    specified_rules,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import subscribe as graphql_subscribe
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing

from tandem.domain import reads
from tandem.domain.rate_limits import Quota, RateLimited, operation_cost
from tandem.graphql.documents import parse_document, validate_cached
from tandem.graphql.limits import Analysis, Limits, analyse, violations
from tandem.graphql.plan.start import execute as execute_planned
from tandem.graphql.trusted import TrustedDocuments
from tandem.observability.requests import note_operation

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
ADMISSION_COST = 1
ALL_TYPES = frozenset(OperationType)
_PLURALS = {
    OperationType.QUERY: "queries",
    OperationType.MUTATION: "mutations",
    OperationType.SUBSCRIPTION: "subscriptions",
}


@dataclass(frozen=True, slots=True)
class Rules:
    """What every operation is held to: the limits, the token cap, validation, trust."""

    limits: Limits
    max_tokens: int
    validation: tuple[type[ASTValidationRule], ...]
    trusted: TrustedDocuments

    @classmethod
    def of(
        cls,
        *,
        introspection: bool,
        limits: Limits | None = None,
        max_tokens: int = 2000,
        trusted: TrustedDocuments | None = None,
    ) -> Rules:
        limits = limits or Limits()
        return cls(
            limits=limits,
            max_tokens=max_tokens,
            validation=validation_rules(introspection=introspection, limits=limits),
            trusted=trusted or TrustedDocuments(),
        )


@dataclass(slots=True)
class Operation:
    """One operation a transport asks for: its text (or a trusted document's hash in
    `extensions`), variables, name, context, and the operation types it may run."""

    query: str | None
    variables: dict[str, Any] | None
    name: str | None
    extensions: dict[str, Any] | None
    context: Any
    allowed: Collection[OperationType] = ALL_TYPES

    @classmethod
    def of(
        cls,
        query: str | None,
        variables: dict[str, Any] | None,
        name: str | None,
        extensions: dict[str, Any] | None,
        context: Any,
        allowed: Iterable[OperationType] | None,
    ) -> Operation:
        types = ALL_TYPES if allowed is None else frozenset(allowed)
        return cls(query, variables, name, extensions, context, types)


class Charge:
    """What one operation has paid and asked for; its `extensions.cost`."""

    __slots__ = ("context", "mutation", "paid", "quota", "requested", "schema")

    def __init__(self, schema: Any, context: Any) -> None:
        self.schema = schema
        self.context = context
        self.requested: int | None = None
        self.paid = 0
        self.mutation = False
        self.quota: Quota | None = None

    async def spend(self, points: int) -> None:
        """Charge the caller's budget (the request's admission); on refusal set 429 with
        Retry-After on the response, and re-raise."""
        if points <= 0:
            return
        admission = self.context.admission
        try:
            await admission.charge(points)
            self.paid += points
        except RateLimited as error:
            response = getattr(self.context, "response", None)
            if response is not None:
                response.status_code = 429
                response.headers["Retry-After"] = str(error.retry_after)
            raise
        finally:
            self.quota = admission.quota

    async def price(self, analysis: Analysis) -> GraphQLExecutionResult | None:
        """Charge the rest of the operation's cost; a refusal (returned) gives all back."""
        self.requested, self.mutation = analysis.cost, analysis.mutation
        try:
            await self.spend(analysis.cost - self.paid)
        except RateLimited as error:
            if self.paid:
                admission = self.context.admission
                await admission.refund(self.paid)
                self.paid, self.quota = 0, admission.quota
            return _refusal(error.message, "RATE_LIMITED")
        return None

    def extensions(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        actual = operation_cost(
            getattr(self.context, "connections_resolved", 0),
            mutation=self.mutation,
            searches=getattr(self.context, "searches_resolved", 0),
        )
        cost: dict[str, Any] = {"requestedQueryCost": self.requested, "actualQueryCost": actual}
        if self.quota is not None:
            cost["throttleStatus"] = {
                "maximumAvailable": self.quota.limit,
                "currentlyAvailable": self.quota.remaining,
                "resetAt": self.quota.reset_at,
            }
        return {"cost": cost}


@dataclass(slots=True)
class _Admitted:
    """An operation parsed, validated, within the limits and paid for: ready to run."""

    document: DocumentNode
    operation_name: str | None
    operation_type: OperationType


async def _enter(
    rules: Rules, charge: Charge, query: str | None, extensions: Mapping[str, Any] | None
) -> str | None:
    """Step 1: the admission point paid, and the text to run (raises the refusal: RATE_LIMITED
    stops the operation unparsed; a trusted document's refusal is a GraphQLError)."""
    await charge.spend(ADMISSION_COST)
    return rules.trusted.resolve(query, extensions)


async def _admit(
    schema: Any, rules: Rules, charge: Charge, query: str | None, operation: Operation
) -> _Admitted | GraphQLExecutionResult | PreExecutionError:
    """Steps 2 and 3 of the module's docstring for the text `query`: the operation, or the
    result refusing it.

    Raises MissingQueryError, CannotGetOperationTypeError and InvalidOperationTypeError
    (the transport answers those its own way).
    """
    if not query:
        raise MissingQueryError
    try:
        document = parse_document(query, max_tokens=rules.max_tokens)
    except Exception as error:
        return PreExecutionError(data=None, errors=[_as_graphql_error(error)])
    name = operation.name if operation.name is not None else _first_operation_name(document)
    definition = _operation(document, name)
    if definition is None:
        raise CannotGetOperationTypeError(name)
    operation_type = OperationType(definition.operation.value)
    if operation_type not in operation.allowed:
        raise InvalidOperationTypeError(operation_type)
    errors = validate_cached(schema._schema, document, rules.validation)
    if errors:
        return PreExecutionError(data=None, errors=list(errors))
    found = get_operation_ast(document, name)
    if found is not None:  # for the request's log line and metrics
        note_operation(found.name.value if found.name else None, found.operation.value)
        if reads.enabled:  # a query may read from a replica (domain/reads.py)
            reads.operation_reads_only(found.operation.value == "query")
    analysis = analyse(document, query, name, dict(operation.variables or {}))
    if analysis is not None:
        problems = violations(analysis, rules.limits)
        if problems:
            return _refusal("The query is too complex: " + "; ".join(problems) + ".", TOO_COMPLEX)
        refused = await charge.price(analysis)
        if refused is not None:
            return refused
    return _Admitted(document, name, operation_type)


async def execute_operation(schema: Any, operation: Operation) -> ExecutionResult:
    """One query or mutation (a subscription is refused before this, by the transport)."""
    rules: Rules = schema.rules
    charge = Charge(schema, operation.context)
    try:
        text = await _enter(rules, charge, operation.query, operation.extensions)
        admitted = await _admit(schema, rules, charge, text, operation)
        if not isinstance(admitted, _Admitted):
            return _result(admitted, charge)
        result = await _run(schema, admitted, operation)
    except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
        raise
    except Exception as error:
        return _result(PreExecutionError(data=None, errors=[_as_graphql_error(error)]), charge)
    return _result(result, charge)


async def stream_operation(
    schema: Any, operation: Operation
) -> AsyncGenerator[ExecutionResult, None]:
    """One operation over a socket or graphql-sse: a query's or mutation's one result, or a
    subscription's events; a refusal before execution is one PreExecutionError."""
    rules: Rules = schema.rules
    charge = Charge(schema, operation.context)
    text = await _enter(rules, charge, operation.query, operation.extensions)  # refusal: raised
    admitted: _Admitted | GraphQLExecutionResult | PreExecutionError
    try:
        admitted = await _admit(schema, rules, charge, text, operation)
    except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as error:
        admitted = PreExecutionError(data=None, errors=[_pre_execution_error(error)])
    except Exception as error:
        admitted = PreExecutionError(data=None, errors=[_as_graphql_error(error)])
    if not isinstance(admitted, _Admitted):
        refusal = admitted if isinstance(admitted, PreExecutionError) else _pre(admitted)
        yield _result(refusal, charge)
        return
    if admitted.operation_type is not OperationType.SUBSCRIPTION:
        try:
            result: GraphQLExecutionResult | PreExecutionError = await _run(
                schema, admitted, operation
            )
        except Exception as error:
            result = PreExecutionError(data=None, errors=[_as_graphql_error(error)])
        yield _result(result, charge)
        return
    try:
        events = await _maybe(graphql_subscribe(**_arguments(schema, admitted, operation)))
    except Exception as error:
        yield _result(GraphQLExecutionResult(data=None, errors=[_as_graphql_error(error)]), charge)
        return
    if isinstance(events, GraphQLExecutionResult):
        yield _result(PreExecutionError(data=None, errors=events.errors), charge)
        return
    try:
        async with aclosing(events):
            async for event in events:
                yield _result(event, charge)
    except Exception as error:
        yield _result(GraphQLExecutionResult(data=None, errors=[_as_graphql_error(error)]), charge)


async def _run(schema: Any, admitted: _Admitted, operation: Operation) -> GraphQLExecutionResult:
    arguments = _arguments(schema, admitted, operation)
    result = execute_planned(**arguments, is_awaitable=optimized_is_awaitable)
    found: GraphQLExecutionResult = await _maybe(result)
    return found


def _arguments(schema: Any, admitted: _Admitted, operation: Operation) -> dict[str, Any]:
    """graphql-core's arguments for running (or subscribing to) the admitted operation."""
    return {
        "schema": schema._schema,
        "document": admitted.document,
        "context_value": operation.context,
        "variable_values": operation.variables,
        "operation_name": admitted.operation_name,
        "executor_class": schema.execution_context_class,
        "operation_extensions": operation.extensions,
    }


async def _maybe(value: Any) -> Any:
    return await value if optimized_is_awaitable(value) else value


def _result(result: GraphQLExecutionResult | ExecutionResult, charge: Charge) -> ExecutionResult:
    """Strawberry's result type (its transports write it out), with `extensions.cost`.

    Outside development its errors lose their "Did you mean" (`disable_field_suggestions`),
    as Strawberry's own execution did.
    """
    if result.errors:
        charge.schema._process_errors(result.errors)
    if isinstance(result, ExecutionResult):
        result.extensions = charge.extensions()
        return result
    return ExecutionResult(data=result.data, errors=result.errors, extensions=charge.extensions())


def _pre(result: GraphQLExecutionResult) -> PreExecutionError:
    return PreExecutionError(data=result.data, errors=result.errors)


def _first_operation_name(document: DocumentNode) -> str | None:
    """As Strawberry names an unnamed request: its document's first operation's name."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            return definition.name.value if definition.name else None
    return None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if name is None or (definition.name is not None and definition.name.value == name):
            return definition
    return None


def _as_graphql_error(error: Exception) -> GraphQLError:
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), original_error=error)


def _pre_execution_error(error: Exception) -> GraphQLError:
    """A refusal a streaming transport reports as the operation's error (Strawberry's words)."""
    if isinstance(error, CannotGetOperationTypeError):
        return GraphQLError(error.as_http_error_reason(), original_error=error)
    if isinstance(error, InvalidOperationTypeError):
        plural = _PLURALS[error.operation_type]
        return GraphQLError(f"{plural} are not allowed", original_error=error)
    return _as_graphql_error(error)


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
