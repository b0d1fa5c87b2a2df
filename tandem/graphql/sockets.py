"""graphql-transport-ws at `/graphql`: the token from `connection_init`, codes on errors, closes.

- `connection_init`'s payload `{"Authorization": "Bearer <token>"}` is admitted as an
  HTTP request's header is (tandem/http/admission.py): a missing or bad token closes
  the socket with 4403; no `connection_init` within SOCKET_INIT_TIMEOUT_SECONDS, 4408.
- Each operation (query, mutation, subscription) is admitted again when it starts, in
  a context of its own: a token revoked or expired since, or an account deactivated,
  is sent UNAUTHENTICATED and the socket closes (4403); a changed role or scopes are
  the ones the operation runs with. `Context.readmit()` is the same step for a
  running subscription.
- At most SOCKETS_PER_ADDRESS sockets are open from one address; the next is closed at
  once (1013, try again later).
- Errors carry `extensions.code` as on HTTP. A subscription ended because its token
  expired or was revoked is sent the UNAUTHENTICATED error, then the socket closes
  (4403); one that fell too far behind is sent its error, then the socket closes
  (1013, try again later).
- Every open socket is known, so a shutting-down server closes them with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from tandem.domain.errors import DomainError
from tandem.domain.principal import signed_in
from tandem.graphql.context import Context
from tandem.graphql.errors import code_for, with_code

CLOSE_UNAUTHENTICATED = 4403
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_GOING_AWAY = 1001
# The codes after which the connection cannot go on, and the close code each earns.
ENDING_CODES = {
    "UNAUTHENTICATED": CLOSE_UNAUTHENTICATED,
    "SUBSCRIBER_TOO_SLOW": CLOSE_TRY_AGAIN_LATER,
    "EVENTS_MISSED": CLOSE_TRY_AGAIN_LATER,
}
# How long a cut-off subscriber may take to read its error before the socket is closed anyway.
FAREWELL_SECONDS = 5.0

TOO_MANY_SOCKETS = "too many open sockets from this address"
_logger = logging.getLogger("tandem.api")

OPEN_SOCKETS: weakref.WeakSet[TandemTransportWS] = weakref.WeakSet()


def authorization_of(params: object) -> str | None:
    """The `Authorization` entry of a connection_init payload, whatever its case."""
    if not isinstance(params, dict):
        return None
    for name, value in params.items():
        if isinstance(name, str) and name.lower() == "authorization":
            return value if isinstance(value, str) else ""
    return None


async def accept_connection(context: Context) -> None:
    """connection_init: a socket needs a valid token (ConnectionRejectionError: 4403).

    The payload's `Authorization` (else the handshake's header) is admitted as an HTTP
    request's would be; each operation is admitted again when it starts.
    """
    if context.rejected:
        raise ConnectionRejectionError()
    header = authorization_of(context.connection_params)
    admission = context.admission
    if header is not None:
        admission = admission.again(credential=header)
    try:
        principal = await admission.caller()
    except DomainError as error:
        raise ConnectionRejectionError() from error
    if principal is None:  # anonymous: nothing a socket carries is open to it
        raise ConnectionRejectionError()
    context.admission, context.principal = admission, principal


class TextFrames(ASGIWebSocketAdapter):
    """Messages as text frames, as graphql-transport-ws requires (the router's JSON is bytes,
    which Strawberry would send as binary frames, and the npm graphql-ws client refuses)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class TandemTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle(self) -> None:
        address = self.context.address
        cap = getattr(self.view, "sockets_per_address", None)
        if cap is not None and sum(1 for s in OPEN_SOCKETS if s.context.address == address) >= cap:
            _logger.warning(
                "socket refused: %d already open from this address [request_id=%s]",
                cap,
                self.context.request_id,
            )
            await self.close(CLOSE_TRY_AGAIN_LATER, TOO_MANY_SOCKETS)
            return
        OPEN_SOCKETS.add(self)
        try:
            await super().handle()
        finally:
            OPEN_SOCKETS.discard(self)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket now; a close that cannot be sent (the peer is gone) is moot."""
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)

    async def admitted(self) -> Context:
        """A context of its own for one operation, admitted as it starts: the caller from the
        token's current state (a revoked or expired token, or a deactivated account, is
        UNAUTHENTICATED; a changed role or scopes are the ones the operation runs with)."""
        connection = self.context
        admission = connection.admission.again(credential=connection.admission.credential)
        principal = signed_in(await admission.caller())
        context = Context(admission=admission, principal=principal)
        context.request = connection.request
        context.response = connection.response
        context.background_tasks = connection.background_tasks
        context.connection_params = connection.connection_params
        return context

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """As Strawberry's, with the operation admitted first, in a context of its own, and a
        refusal before execution (trusted documents, the rate limit) answered with its code."""
        try:
            context = await self.admitted()
        except DomainError as refusal:
            await self._refuse(operation, GraphQLError(refusal.message, original_error=refusal))
            return
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except (GraphQLError, DomainError) as refusal:  # raised by the gate before execution
            error = (
                refusal
                if isinstance(refusal, GraphQLError)
                else GraphQLError(refusal.message, original_error=refusal)
            )
            _logger.info(
                "operation refused: %s [request_id=%s]", code_for(error), context.request_id
            )
            await self._refuse(operation, error)
        except Exception as error:  # as Strawberry does: logged once, completed, forgotten
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _refuse(self, operation: Operation[Context, None], error: GraphQLError) -> None:
        """The operation's `error` message, with its code; UNAUTHENTICATED also closes (4403)."""
        result = ExecutionResult(data=None, errors=[error])
        ending = await self._coded(result)
        if ending is None:
            with contextlib.suppress(Exception):
                await operation.send_initial_errors(result.errors or [])
            return
        await self._farewell(operation, result, ending)

    async def _send_result_stream(
        self, operation: Operation[Context, None], result_source: StreamResult
    ) -> None:
        """As Strawberry's, with codes on errors, and a close after an error that ends it all."""
        first = True
        async for result in result_source:
            if not isinstance(result, ExecutionResult) or (
                first and isinstance(result, PreExecutionError)
            ):
                # Pre-execution errors and incremental delivery: Strawberry's own handling.
                await self._coded(result)
                await super()._send_result_stream(operation, _one(result))
                return
            ending = await self._coded(result)
            if ending is None:
                await operation.send_next(result)
            else:
                await self._farewell(operation, result, ending)
                return
            first = False

    async def _coded(self, result: Any) -> int | None:
        """Give each error its code; the close code if one of them ends the connection."""
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if not errors:
            return None
        request_id = self.context.request_id
        result.errors = [
            with_code(
                error,
                request_id=request_id,
                mask_unexpected=getattr(self.view, "mask_unexpected", True),
                hide_suggestions=getattr(self.view, "hide_suggestions", True),
            )
            for error in errors
        ]
        for error in result.errors:
            close = ENDING_CODES.get(code_for(error))
            if close is not None:
                return close
        return None

    async def _farewell(
        self, operation: Operation[Context, None], result: ExecutionResult, close: int
    ) -> None:
        errors = result.errors or []
        try:
            async with asyncio.timeout(FAREWELL_SECONDS):
                await operation.send_initial_errors(errors)
        except TimeoutError:
            pass
        await self.close(close, errors[0].message[:120] if errors else "")


async def _one(result: Any) -> Any:
    yield result


async def close_open_sockets(
    code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down"
) -> None:
    """Close every open subscription socket (on SIGTERM: 1001, going away)."""
    await asyncio.gather(*(handler.close(code, reason) for handler in list(OPEN_SOCKETS)))
