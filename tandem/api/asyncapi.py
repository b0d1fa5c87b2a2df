"""`GET /asyncapi.json`: an AsyncAPI 3 document for what Tandem pushes.

Two kinds of channel: the GraphQL subscription `itemChanged` (over graphql-transport-ws
and over Server-Sent Events, both on `/graphql`), and the webhooks, one channel per event
type, sent to each endpoint's own URL. Payload schemas are the OpenAPI document's own
components (the events API's `EventOut` and what it refers to), copied with their names, so
the two documents cannot disagree; the event types come from `EventType`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from tandem.api.webhooks_document import DESCRIPTIONS, HEADERS, PAYLOAD, PING_PAYLOAD, PING_SCHEMA
from tandem.domain.events.records import EventType
from tandem.domain.webhooks.delivery import PING

ASYNCAPI_URL = "/asyncapi.json"
GRAPHQL_PATH = "/graphql"
SUBSCRIPTION = "subscription { itemChanged { kind item { id title owner { name } } } }"


def _referenced(schemas: dict[str, Any], root: str) -> dict[str, Any]:
    """`root` and every component schema it refers to, transitively."""
    found: dict[str, Any] = {}
    waiting = [root]
    while waiting:
        name = waiting.pop()
        if name in found or name not in schemas:
            continue
        found[name] = copy.deepcopy(schemas[name])
        waiting.extend(_refs(found[name]))
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        names = [ref.rsplit("/", 1)[1]] if isinstance(ref, str) else []
        return names + [name for child in node.values() for name in _refs(child)]
    if isinstance(node, list):
        return [name for child in node for name in _refs(child)]
    return []


def _webhook_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name for name, _, _ in HEADERS],
        "properties": {
            name: {"type": kind, "description": description} for name, description, kind in HEADERS
        },
    }


def asyncapi_document(openapi: dict[str, Any], *, host: str, secure: bool) -> dict[str, Any]:
    info = openapi["info"]
    channels: dict[str, Any] = {
        "itemChanged": {
            "address": GRAPHQL_PATH,
            "title": "The itemChanged subscription",
            "description": (
                "Each change to an item the subscriber may see, as GraphQL `next` results "
                f"of a subscription such as `{SUBSCRIPTION}` (types: schema.graphql). Over "
                "WebSocket the subprotocol is graphql-transport-ws, the token in "
                "`connection_init`'s payload; over SSE, `POST /graphql` with "
                "`Accept: text/event-stream` and an `Authorization` header."
            ),
            "servers": [{"$ref": "#/servers/websocket"}, {"$ref": "#/servers/sse"}],
            "messages": {"next": {"$ref": "#/components/messages/itemChanged"}},
        }
    }
    operations: dict[str, Any] = {
        "sendItemChanged": {
            "action": "send",
            "channel": {"$ref": "#/channels/itemChanged"},
            "summary": "Tandem sends each change to every subscription that may see it",
            "messages": [{"$ref": "#/channels/itemChanged/messages/next"}],
        }
    }
    messages: dict[str, Any] = {
        "itemChanged": {
            "name": "itemChanged",
            "title": "A GraphQL result of the itemChanged subscription",
            "contentType": "application/json",
            "payload": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {
                        "type": "object",
                        "description": "`{itemChanged: {kind, item}}`, as selected",
                    },
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            },
        }
    }
    webhooks = [(kind.value, DESCRIPTIONS.get(kind, ""), PAYLOAD) for kind in EventType]
    webhooks.append((PING, PING_SCHEMA["description"], PING_PAYLOAD))
    for event_type, description, payload in webhooks:
        name = "webhook_" + event_type.replace(".", "_")
        channels[name] = {
            "address": None,  # each endpoint's own URL
            "title": f"Webhook: {event_type}",
            "description": f"POSTed to a webhook endpoint (`{event_type}`), signed per "
            "Standard Webhooks. " + description,
            "messages": {"event": {"$ref": f"#/components/messages/{name}"}},
        }
        operations["send_" + name] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"Tandem delivers `{event_type}` (retried until a 2xx)",
            "messages": [{"$ref": f"#/channels/{name}/messages/event"}],
        }
        messages[name] = {
            "name": event_type,
            "contentType": "application/json",
            "headers": _webhook_headers(),
            "payload": {"$ref": f"#/components/schemas/{payload}"},
        }
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": info["title"],
            "version": info["version"],
            "description": "What Tandem pushes: the GraphQL subscription and the webhooks. "
            "The REST face is described by /openapi.json.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "websocket": {
                "host": host,
                "protocol": "wss" if secure else "ws",
                "pathname": GRAPHQL_PATH,
                "description": "GraphQL over WebSocket (graphql-transport-ws)",
            },
            "sse": {
                "host": host,
                "protocol": "https" if secure else "http",
                "pathname": GRAPHQL_PATH,
                "description": "GraphQL over Server-Sent Events",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {
                **_referenced(openapi["components"]["schemas"], PAYLOAD),
                PING_PAYLOAD: PING_SCHEMA,
            },
        },
    }


def asyncapi_router(openapi: Callable[[], dict[str, Any]]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(ASYNCAPI_URL)
    async def asyncapi(request: Request) -> JSONResponse:
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        document = asyncapi_document(openapi(), host=host, secure=request.url.scheme == "https")
        return JSONResponse(document)

    return router
