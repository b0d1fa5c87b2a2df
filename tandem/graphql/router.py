"""`/graphql`: GraphQL over HTTP (POST, and GET for queries) and GraphiQL for browsers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta
from typing import Any, cast

import orjson
from cross_web import HTTPException
from fastapi import BackgroundTasks, Request
from fastapi.routing import APIRoute
from graphql import GraphQLError, OperationType
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.exceptions import MissingQueryError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as Allowed
from strawberry.types.unset import UNSET

from tandem.config import Settings
from tandem.graphql.context import Context, get_context, request_session
from tandem.graphql.errors import with_code
from tandem.graphql.execution import ALL_TYPES, Operation, execute_operation
from tandem.graphql.idempotency import MutationDetector
from tandem.graphql.limits import Limits
from tandem.graphql.media import JSON, is_request_error, response_media_type
from tandem.graphql.schema import build_schema
from tandem.graphql.sockets import TandemTransportWS, TextFrames, accept_connection
from tandem.graphql.trusted import TrustedDocuments
from tandem.http.docs_ui.pages import graphiql_page
from tandem.http.going_away import ending_on_shutdown
from tandem.http.problems import graphql_errors

# Strawberry refuses some requests before any operation runs, in plain text; we answer in
# GraphQL's own shape, with a code.
TRANSPORT_CODES = {"Too many operations": "QUERY_TOO_COMPLEX"}
STATUS_CODES = {405: "METHOD_NOT_ALLOWED"}
# What each method may run (a subscription is refused before, in words of its own).
ALLOWED = {"GET": frozenset({Allowed.QUERY, Allowed.SUBSCRIPTION}), "POST": ALL_TYPES}
GRAPHQL_PATH = "/graphql"
NOT_AN_OPERATION = (
    "The request body must be a JSON object (one operation) or an array of them (a batch)."
)
SUBSCRIPTION_OVER_HTTP = (
    "A subscription cannot run over a plain HTTP request: open a WebSocket at /graphql "
    "(graphql-transport-ws), or ask for text/event-stream (graphql-sse)."
)


class SubResponse:
    """Where an operation sets its status and headers (a 429's Retry-After)."""

    __slots__ = ("headers", "status_code")

    def __init__(self) -> None:
        self.status_code: int | None = None
        self.headers: dict[str, str] = {}


class TandemGraphQLRouter(GraphQLRouter[Context, None]):
    graphql_transport_ws_handler_class = TandemTransportWS
    websocket_adapter_class = TextFrames

    def __init__(self, settings: Settings) -> None:
        development = settings.is_development
        trusted = TrustedDocuments.load(
            settings.graphql_trusted_documents, only=settings.graphql_trusted_only
        )
        # Which POST bodies an Idempotency-Key applies to (tandem/http/idempotency.py).
        self.operation_kind = MutationDetector(trusted, max_tokens=settings.graphql_max_tokens)
        super().__init__(
            path=GRAPHQL_PATH,
            schema=build_schema(
                development=development,
                limits=Limits(
                    max_depth=settings.graphql_max_depth,
                    max_aliases=settings.graphql_max_aliases,
                    max_root_fields=settings.graphql_max_root_fields,
                    max_nodes=settings.graphql_max_nodes,
                ),
                max_tokens=settings.graphql_max_tokens,
                max_batch=settings.graphql_max_batch,
                trusted=trusted,
            ),
            context_getter=get_context,
            graphql_ide="graphiql" if development else None,
            allow_queries_via_get=True,
            # The GraphQL face is described by its own schema (schema.graphql, introspection);
            # OpenAPI would describe it wrongly, as one opaque JSON operation.
            include_in_schema=False,
            # Subscriptions: graphql-transport-ws (the legacy graphql-ws is refused, 4406) and
            # graphql-sse's distinct-connections mode; browsers' Origin must be allowed.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
            max_subscriptions_per_connection=settings.subscriptions_per_connection,
            connection_init_wait_timeout=timedelta(seconds=settings.socket_init_timeout_seconds),
            allowed_origins=settings.cors_origins,
        )
        self.sockets_per_address = settings.sockets_per_address  # tandem/graphql/sockets.py
        self.mask_unexpected = not development
        self.hide_suggestions = not development
        self._one_route()

    def _one_route(self) -> None:
        """GET and POST go to `answer`, one plain Starlette route taking only the request, in
        place of Strawberry's two FastAPI routes (their dependency solving and HTTP view
        were a third of a small query's cost); the WebSocket route stays Strawberry's."""
        kept = [route for route in self.routes if not isinstance(route, APIRoute)]
        self.routes.clear()
        self.routes.append(
            Route(GRAPHQL_PATH, self.answer, methods=["GET", "POST"], include_in_schema=False)
        )
        self.routes.extend(kept)

    async def answer(self, request: Request) -> Response:
        """A GraphQL request over HTTP, its body read and parsed first (a slow client holds no
        connection), then admitted and run in the request's database session
        (`request_session`)."""
        parsed: Any = None  # a GET's operation is in its query string
        if request.method == "POST":
            try:
                parsed = orjson.loads(await request.body())
            except orjson.JSONDecodeError as error:
                parsed = error  # refused once the caller is admitted (`request_data`)
        async with request_session(request, parsed):
            return await self.answer_in_session(request, parsed)

    async def answer_in_session(self, request: Request, parsed: Any = None) -> Response:
        """Every GraphQL request over HTTP (GET and POST, one operation or a batch): the body
        read once, each operation run by the one operation function
        (tandem/graphql/execution.py), the answer in the media type the client accepts,
        with GraphQL over HTTP's status codes. An event stream (graphql-sse) and the
        GraphiQL page are Strawberry's view's, whose operations run through the same
        function (`TandemSchema.stream`)."""
        accept = request.headers.get("accept")
        if (
            accept is not None
            and "event-stream" in accept.lower()
            and self._get_stream_transport_from_headers(request.headers)
        ) or (request.method == "GET" and self.should_render_graphql_ide(request)):
            return await self.answer_by_view(request)
        media_type = response_media_type(accept)
        sub_response = SubResponse()
        context = await self.get_context(request, sub_response)
        try:
            data = await self.request_data(request, parsed)
            if isinstance(data, list):
                results = await asyncio.gather(
                    *(self.execute_one(request, context, one) for one in data)
                )
                written = [self.written(request, result)[0] for result in results]
                body, request_error = self.encode_json(written), False
            else:
                result = await self.execute_one(request, context, data)
                payload, request_error = self.written(request, result)
                body = self.encode_json(payload)
        except HTTPException as error:
            return self.transport_error(error, media_type)
        status = sub_response.status_code or 200
        if request_error and media_type != JSON and status == 200:
            status = 400  # a single result that never reached execution
        return Response(
            body, status_code=status, headers=sub_response.headers, media_type=media_type
        )

    async def answer_by_view(self, request: Request) -> Response:
        try:
            response: Response = await self.run(request, root_value=None)
        except HTTPException as error:
            return PlainTextResponse(error.reason, status_code=error.status_code)
        return response

    async def create_streaming_response(
        self,
        request: Request,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """Strawberry's event stream, ended after the shutdown's drain (http/going_away.py)."""
        return await super().create_streaming_response(
            request, ending_on_shutdown(stream), sub_response, headers
        )

    async def request_data(self, request: Request, parsed: Any = None) -> Any:
        """The request's operation (a dict) or batch (a list of them), as Strawberry reads it;
        a POST's body as `answer` parsed it (the JSON, or why it is not JSON)."""
        if request.method == "GET":
            data: Any = self.parse_query_params(request.query_params)
        else:
            content_type = request.headers.get("content-type") or ""
            if not (content_type == JSON or content_type.startswith(JSON + ";")):
                content_type, _ = parse_content_type(content_type)
            if JSON not in content_type:
                raise HTTPException(400, "Unsupported content type")
            if isinstance(parsed, orjson.JSONDecodeError):
                raise HTTPException(400, json_refusal(parsed))
            data = parsed
        if isinstance(data, list):
            if not all(isinstance(one, dict) for one in data):
                raise HTTPException(400, NOT_AN_OPERATION)
            self._validate_batch_request(data, protocol="http")
            return data
        if not isinstance(data, dict):
            raise HTTPException(400, NOT_AN_OPERATION)
        for name, kind in (("query", "a string"), ("variables", "an object")):
            value = data.get(name)
            if value is not None and not isinstance(value, str if name == "query" else dict):
                raise HTTPException(
                    400, f"The GraphQL operation's `{name}` must be {kind} or null, if provided."
                )
        extensions = data.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            raise HTTPException(
                400,
                "The GraphQL operation's `extensions` must be an object or null, if provided.",
            )
        return data

    async def get_sub_response(self, request: Request) -> Response:
        """Where an operation sets its status and headers (a 429's Retry-After), as FastAPI's."""
        sub_response = Response()
        del sub_response.headers["content-length"]
        sub_response.status_code = None  # type: ignore[assignment]
        return sub_response

    async def get_context(self, request: Any, response: Any) -> Context:
        """The request's context (tandem/graphql/context.py), with what Strawberry's has."""
        context = await get_context(request)
        context.request, context.response = request, response
        context.background_tasks = BackgroundTasks()  # unused by Tandem; part of the type
        return context

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry's view (sockets, event streams, GraphiQL), answering a request it
        refuses in GraphQL's own shape, with a code."""
        if not isinstance(request, Request):  # a WebSocket: no media type to negotiate
            return await super().run(request, context=context, root_value=root_value)
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as error:
            return self.transport_error(error, response_media_type(request.headers.get("accept")))

    def transport_error(self, error: HTTPException, media_type: str) -> Response:
        """A request refused before any operation ran, in GraphQL's own shape, with a code."""
        code = TRANSPORT_CODES.get(error.reason) or STATUS_CODES.get(
            error.status_code, "BAD_REQUEST"
        )
        body = graphql_errors(error.reason, code)
        headers = {"Allow": "POST"} if error.status_code == 405 else None
        return Response(
            self.encode_json(body),
            status_code=error.status_code,
            media_type=media_type,
            headers=headers,
        )

    async def execute_one(self, request: Request, context: Context, data: Any) -> ExecutionResult:
        """One operation of the request, by the one operation function.

        A mutation sent by GET is 405 with `Allow: POST`, as GraphQL over HTTP says. A
        subscription has no single answer to give over plain HTTP: it is refused as a
        request error, before anything runs (400 with `application/graphql-response+json`),
        naming the transports that carry it.
        """
        query, extensions = data.get("query"), data.get("extensions")
        operation_name = data.get("operationName")
        # A subscription's text holds the word (a trusted one may be named by its hash only).
        if (not isinstance(query, str) or "subscription" in query) and (
            self.operation_kind.operation_type(
                query, extensions if isinstance(extensions, dict) else None, operation_name
            )
            is OperationType.SUBSCRIPTION
        ):
            return ExecutionResult(
                data=None,
                errors=[GraphQLError(SUBSCRIPTION_OVER_HTTP, extensions={"code": "BAD_REQUEST"})],
            )
        method = request.method
        try:
            operation = Operation.of(
                query, data.get("variables"), operation_name, extensions, context, ALLOWED[method]
            )
            return await execute_operation(self.schema, operation)
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except InvalidOperationTypeError as error:
            raise HTTPException(405, error.as_http_error_reason(method)) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error

    def written(self, request: Request, result: ExecutionResult) -> tuple[dict[str, Any], bool]:
        """A result as the response writes it, errors coded; and whether it is a request error
        (nothing executed: the spec then wants no `data` entry at all, not `null`)."""
        request_error = is_request_error(result)
        if result.errors:
            request_id = request.scope.get("state", {}).get("request_id")
            result.errors = [
                with_code(
                    error,
                    request_id=request_id,
                    mask_unexpected=self.mask_unexpected,
                    hide_suggestions=self.hide_suggestions,
                )
                for error in result.errors
            ]
        written: dict[str, Any] = {"data": result.data}
        if result.errors:
            written["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            written["extensions"] = result.extensions
        if request_error:
            del written["data"]
        return written, request_error

    def parse_json(self, data: str | bytes) -> Any:
        """A body or a GET parameter as JSON; bad UTF-8 or absurd nesting is a 400, never a 500.

        orjson refuses invalid UTF-8, lone surrogates and nesting past 1,024 levels, where
        the standard library would raise outside JSONDecodeError (or recurse to its limit).
        """
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(400, json_refusal(error)) from error

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Only a browser asking for a page (`text/html`, no query) gets GraphiQL."""
        return (
            request.method == "GET"
            and request.query_params.get("query") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Tandem's own GraphiQL page (tandem/http/docs_ui), not Strawberry's CDN one."""
        return graphiql_page(request, endpoint=request.url.path)

    async def on_ws_connect(self, context: Context) -> None:
        """connection_init: its `Authorization` entry admitted (missing or bad: 4403)."""
        await accept_connection(context)

    def encode_json(self, data: object) -> bytes:
        """orjson, not the standard library: scalars are already serialized to JSON types."""
        return orjson.dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """An event stream's result (Strawberry's view), written as `answer` writes one."""
        written, _ = self.written(request, result)
        return cast("GraphQLHTTPResponse", written)


def json_refusal(error: ValueError) -> str:
    """Why the JSON was refused, in words, without quoting any of it."""
    reason = str(error)
    if "UTF-8" in reason or "surrogate" in reason:
        return "The request is not valid UTF-8."
    if "depth limit" in reason:
        return "The request's JSON is nested too deeply (at most 1,024 levels)."
    return "Unable to parse the request's JSON: " + reason.split(":", 1)[0] + "."
