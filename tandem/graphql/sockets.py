"""graphql-transport-ws at `/graphql`: the token from `connection_init`, codes on errors, closes.

- `connection_init`'s payload `{"Authorization": "Bearer <token>"}` goes through the
  guard's own rule (tandem/http/guard.py): no token is anonymous, a bad one closes
  the socket with 4403.
- Errors carry `extensions.code` as on HTTP. A subscription ended because its token
  expired or was revoked is sent the UNAUTHENTICATED error, then the socket closes
  (4403); one that fell too far behind is sent its error, then the socket closes
  (1013, try again later).
- Every open socket is known, so a shutting-down server closes them with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Mapping
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
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from tandem.domain.errors import DomainError
from tandem.graphql.context import Context
from tandem.graphql.errors import code_for, with_code
from tandem.http.guard import bearer_token, principal_of

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
    """The guard, on connection_init's payload; ConnectionRejectionError (4403) for a bad token."""
    if context.rejected:
        raise ConnectionRejectionError()
    header = authorization_of(context.connection_params)
    if header is None:
        return  # anonymous: subscribing will answer UNAUTHENTICATED
    try:
        context.principal = await principal_of(context.services, header)
    except DomainError as error:
        raise ConnectionRejectionError() from error
    context.token = bearer_token(header)


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
        OPEN_SOCKETS.add(self)
        try:
            await super().handle()
        finally:
            OPEN_SOCKETS.discard(self)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket now; a close that cannot be sent (the peer is gone) is moot."""
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)

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
