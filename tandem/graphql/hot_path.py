"""POST /graphql for the queries the plan covers, answered in front of Strawberry's HTTP view.

For a hot document (`item(id)`, `items(first)`; tandem/graphql/plan/) most of a
request's GraphQL cost was not the plan but the machinery around it: the view's
body parsing and negotiation, FastAPI's dependency solver for the context,
Strawberry's operation pipeline and its extension hooks, result processing.
This middleware does the same steps in a straight line, with the same pieces:

1. the request must be a plain JSON POST of one operation (no batch, no
   `extensions`, no Idempotency-Key, no event stream or multipart answer asked for);
2. the document is parsed and validated through OperationGate's caches and rules;
   it must be a query the planner covers, with variables that coerce, within the
   limits (tandem/graphql/limits.py);
3. the guard's rule finds the caller (`principal_of`), and the operation is charged
   its cost in one hit (what the gate charges in two: 1 on admission, the rest
   before execution);
4. the plan runs; the answer is `{"data", "extensions": {"cost"}}` in the media
   type the client accepts.

Whenever a step says no (an error of any kind, an anonymous caller, a spent
budget, a refused plan) the request goes on to Strawberry with its body, as if
this middleware were not there, and Strawberry answers it exactly as before; a
charge already made is given back first, and the caller found and a plan's failure
are left in the request's state, so Strawberry's path neither looks the caller up
again nor runs the failed plan twice (the same statements as before).
tests/graphql/test_plan_differential.py holds the two paths' answers (status,
headers, body) byte-equal; tests/graphql/test_hot_path.py the charge and telemetry.
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.domain.rate_limits import RateLimited, operation_cost, subject_of
from tandem.domain.services import Services
from tandem.graphql.context import PLAN_REFUSED, Context
from tandem.graphql.limits import Limits, analyse, violations
from tandem.graphql.media import response_media_type
from tandem.graphql.operation import cached_parse, cached_validate, validation_rules
from tandem.graphql.plan.executor import PlannedExecution
from tandem.http.guard import bearer_token, principal_of
from tandem.observability.requests import note_operation

GRAPHQL_PATH = "/graphql"
JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8"})
REQUEST_KEYS = frozenset({"query", "variables", "operationName"})


class Declined(Exception):
    """Not for the hot path: Strawberry answers."""


class HotQueries:
    """Pure ASGI middleware in front of the GraphQL route; see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        schema: Any,
        limits: Limits,
        max_tokens: int,
        introspection: bool,
        enabled: bool = True,
    ) -> None:
        self.app = app
        self.schema = schema._schema  # graphql-core's schema under Strawberry's
        self.limits = limits
        self.parse_options = {"max_tokens": max_tokens}
        self.rules = validation_rules(introspection=introspection, limits=limits)
        self.enabled = enabled
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.enabled
            or not PlannedExecution.planning
            or scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != GRAPHQL_PATH
            or scope.get("query_string")
            or not _plain_json_post(scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        body, rest = await _read_body(receive)
        try:
            answer = None if rest is not None else await self._answer(scope, body)
        except Declined:
            answer = None
        if answer is None:
            await self.app(scope, _replay(body, rest, receive), send)
            return
        media_type, content = answer
        scope["route"] = self._graphql_route(scope)  # what routing would have noted
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", media_type.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    async def _answer(self, scope: Scope, body: bytes) -> tuple[str, bytes] | None:
        request = _request_of(body)
        query, variables, operation_name = request
        try:
            document = cached_parse(query, **self.parse_options)
        except GraphQLError:
            return None
        if cached_validate(self.schema, document, self.rules):
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        headers = dict(scope["headers"])
        services = _services(scope)
        header = _text(headers.get(b"authorization"))
        client = scope.get("client")
        context = Context(
            services=services,
            principal=None,
            request_id=scope.get("state", {}).get("request_id"),
            address=client[0] if client else None,
            token=bearer_token(header),
        )
        executor = PlannedExecution.build(
            self.schema, document, None, context, variables, operation_name
        )
        if isinstance(executor, list):  # variables that do not coerce
            return None
        analysis = analyse(document, query, operation_name, variables or {})
        if analysis is None or violations(analysis, self.limits):
            return None
        try:
            principal = await principal_of(services, header)
        except Exception:  # a bad token: the guard's answer comes from Strawberry's path
            return None
        if principal is None:
            return None
        context.principal = principal
        state = scope.setdefault("state", {})
        state["principal"] = principal  # Strawberry's context takes it, if this path declines
        cost = analysis.cost
        limiter = services.rate_limiter
        subject = subject_of(principal.user_id, context.address)
        quota = None
        if limiter is not None:
            try:
                quota = await limiter.charge(subject, cost, record_refusal=False)
            except RateLimited:
                return None
        try:
            data = await run(executor)
        except Exception:  # Strawberry's path will report it; the points go back first
            if limiter is not None:
                await limiter.refund(subject, cost)
            state[PLAN_REFUSED] = True
            return None
        name = operation.name.value if operation.name else None
        note_operation(name, operation.operation.value)
        result: dict[str, Any] = {
            "requestedQueryCost": cost,
            "actualQueryCost": operation_cost(context.connections_resolved, mutation=False),
        }
        if quota is not None:
            state["rate_limit"] = quota
            result["throttleStatus"] = {
                "maximumAvailable": quota.limit,
                "currentlyAvailable": quota.remaining,
                "resetAt": quota.reset_at,
            }
        media_type = response_media_type(_text(headers.get(b"accept")))
        return media_type, orjson.dumps({"data": data, "extensions": {"cost": result}})

    def _graphql_route(self, scope: Scope) -> Any:
        """The route object FastAPI would have put in the scope (telemetry labels by it)."""
        if self._route is None:
            from fastapi.routing import iter_route_contexts

            for route_context in iter_route_contexts(getattr(scope.get("app"), "routes", [])):
                route = route_context.original_route
                if route_context.path_format == GRAPHQL_PATH and "POST" in getattr(
                    route, "methods", ()
                ):
                    self._route = route
                    break
        return self._route


async def run(executor: Any) -> Any:
    """The operation's data, or an exception when it has errors (Strawberry's path words them)."""
    result = executor.execute_operation()
    if executor.is_awaitable(result):
        result = await result
    if result.errors:
        raise Declined
    return result.data


def _services(scope: Scope) -> Services:
    """The app's services, where the guard finds them (`services_of`)."""
    services: Services = scope["app"].state.services
    return services


def _plain_json_post(headers: list[tuple[bytes, bytes]]) -> bool:
    """JSON in, one JSON answer out, and nothing the other middleware treat specially."""
    json_body = False
    for name, value in headers:
        if name == b"content-type":
            json_body = value.lower() in JSON_TYPES
        elif name == b"idempotency-key" or (name == b"accept" and _streamed(value)):
            return False
    return json_body


def _streamed(accept: bytes) -> bool:
    """An Accept that asks for an event stream or a multipart answer (Strawberry's protocols)."""
    return b"event-stream" in accept or b"multipart" in accept


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _request_of(body: bytes) -> tuple[str, dict[str, Any] | None, str | None]:
    """(query, variables, operationName) of a single operation, or Declined."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Declined from None
    if not isinstance(request, dict) or not REQUEST_KEYS.issuperset(request):
        raise Declined
    query = request.get("query")
    variables = request.get("variables")
    operation_name = request.get("operationName")
    if (
        not isinstance(query, str)
        or not (variables is None or isinstance(variables, dict))
        or not (operation_name is None or isinstance(operation_name, str))
    ):
        raise Declined
    return query, variables, operation_name


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body; and a message that came instead of more body (a disconnect)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, rest: Message | None, receive: Receive) -> Receive:
    """A receive that gives the body read already, then whatever the client sends next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if rest is not None:
        pending.append(rest)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
