"""OpenAPI 3.1's `webhooks` section describes what an endpoint really receives.

Real deliveries (a ping, then created, updated, deleted) to a real receiver are checked against the
served document: the body against the entry's request schema (JSON Schema 2020-12, the
`jsonschema` library, with the document's own components), the headers against its
parameters; and every event type has its entry.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tandem.domain.events.records import EventType
from tests.factories import make_account, make_item
from tests.webhooks.helpers import register


def validator_for(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    """A 2020-12 validator whose `#/components/...` refs resolve in the OpenAPI document."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:openapi", resource)
    return jsonschema.Draft202012Validator(
        {"$ref": "urn:openapi#" + schema["$ref"].removeprefix("#")}, registry=registry
    )


async def test_each_delivery_matches_its_webhooks_entry(services, client, receiver, worker):
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    webhooks = document["webhooks"]
    assert set(webhooks) == {kind.value for kind in EventType} | {"ping"}

    owner = await make_account(services, client)
    hook = await register(client, owner, receiver.url)
    pinged = await client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=owner.headers)
    assert pinged.status_code == 202, pinged.text
    item = await make_item(client, owner)
    changed = await client.patch(
        f"/api/v1/items/{item['id']}", json={"title": "Renamed"}, headers=owner.headers
    )
    assert changed.status_code == 200, changed.text
    gone = await client.delete(f"/api/v1/items/{item['id']}", headers=owner.headers)
    assert gone.status_code == 204, gone.text

    received = await receiver.wait_for(4)
    assert sorted(json.loads(r.body)["type"] for r in received) == sorted(
        ["ping", "item.created", "item.updated", "item.deleted"]
    )
    for request in received:
        body = json.loads(request.body)
        operation = webhooks[body["type"]]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        errors = list(validator_for(document, schema).iter_errors(body))
        assert not errors, (body["type"], [error.message for error in errors])
        for parameter in operation["parameters"]:
            assert parameter["in"] == "header"
            assert request.headers.get(parameter["name"]), parameter["name"]
        assert request.headers["webhook-timestamp"].isdigit()
