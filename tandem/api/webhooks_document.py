"""OpenAPI 3.1's `webhooks`: what an endpoint receives, one entry per event type.

The payload's schema is the events API's own (`EventOut`, what `event_document` writes
and `GET /events` answers), referenced by name, so it cannot drift; the entries come from
`EventType`, so a new event type is documented when it exists. Each delivery is a POST of
that JSON with the three Standard Webhooks headers (`domain/webhooks/signing.py`).
"""

from __future__ import annotations

from typing import Any

from tandem.domain.events.records import EventType
from tandem.domain.webhooks.delivery import PING

PAYLOAD = "EventOut"
PING_PAYLOAD = "WebhookPing"
# What `ping_body` (domain/webhooks/delivery.py) sends; a real ping is validated against it.
PING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Sent at once by `POST /webhooks/{webhook_id}/ping`: the events' shape, "
    "with the endpoint it tests as its data.",
    "required": ["id", "type", "created_at", "data"],
    "properties": {
        "id": {"type": "string", "examples": ["ping_5f0c3a9e1b2d4c6e8f7a9b0c"]},
        "type": {"const": PING},
        "created_at": {"type": "string", "format": "date-time"},
        "data": {
            "type": "object",
            "required": ["webhook"],
            "properties": {
                "webhook": {
                    "type": "object",
                    "required": ["id", "url", "events"],
                    "properties": {
                        "id": {"type": "integer"},
                        "url": {"type": "string"},
                        "events": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
        },
    },
}
DESCRIPTIONS = {
    EventType.ITEM_CREATED: "An item was created; `data.item` is the item as "
    "`GET /items/{item_id}` shows it.",
    EventType.ITEM_UPDATED: "An item was changed; `data.item` is the item after the change.",
    EventType.ITEM_DELETED: "An item was deleted; `data.item` holds its `id` and `node_id`.",
}
HEADERS = (
    (
        "webhook-id",
        "The event's id, the same on every retry and redelivery: dedupe on it.",
        "string",
    ),
    ("webhook-timestamp", "When the request was signed (unix seconds).", "integer"),
    (
        "webhook-signature",
        '`v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`, one per live '
        "secret, space-separated (Standard Webhooks).",
        "string",
    ),
)


def webhook_operation(name: str, description: str, payload: str = PAYLOAD) -> dict[str, Any]:
    return {
        "post": {
            "operationId": "receive" + "".join(part.title() for part in name.split(".")),
            "summary": f"`{name}`",
            "description": description,
            "tags": ["webhooks"],
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": True,
                    "description": description,
                    "schema": {"type": kind_of},
                }
                for name, description, kind_of in HEADERS
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{payload}"}}
                },
            },
            "responses": {
                "2XX": {"description": "Received: any 2xx within the timeout ends the delivery"},
                "default": {"description": "Anything else, or no answer in time: retried"},
            },
        }
    }


def add_webhooks(document: dict[str, Any]) -> None:
    """`document["webhooks"]`, one entry per event type, and `ping` (OpenAPI 3.1)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    assert PAYLOAD in schemas, PAYLOAD
    schemas[PING_PAYLOAD] = PING_SCHEMA
    document["webhooks"] = {
        kind.value: webhook_operation(
            kind.value,
            "Sent to each endpoint subscribed to it. "
            + DESCRIPTIONS.get(kind, f"An event of type `{kind.value}`."),
        )
        for kind in EventType
    }
    document["webhooks"][PING] = webhook_operation(
        PING, PING_SCHEMA["description"], payload=PING_PAYLOAD
    )
