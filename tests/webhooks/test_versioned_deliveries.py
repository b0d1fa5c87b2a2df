"""A delivery's body is written in its endpoint's pinned API version, on a served Tandem.

Two endpoints hear the same change: one pinned to 2026-12-01 (as every endpoint made
before versions is), one to the newest. Each receiver verifies its delivery with the
`standardwebhooks` library and finds the event as the events API shows it in that
endpoint's version, byte for byte: `data.item.version` for the older, `revision` for
the newer.
"""

from __future__ import annotations

import asyncio

import httpx
from standardwebhooks.webhooks import Webhook

from tandem.http.versions import NEWEST, OLDEST
from tests.factories import PASSWORD, make_user
from tests.ops.served import serve
from tests.webhooks.receiver import Receiver, running


async def test_each_endpoint_gets_the_event_in_its_own_version(services, database_url, tmp_path):
    user = await make_user(services)
    async with running(Receiver()) as older, running(Receiver()) as newer:
        served = await asyncio.to_thread(serve, database_url, tmp_path, WORKER_POLL_SECONDS="0.5")
        try:
            async with httpx.AsyncClient(base_url=served.url) as http:
                tokens = await http.post(
                    "/api/v1/auth/token",
                    data={"grant_type": "password", "username": user.email, "password": PASSWORD},
                )
                headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
                hooks = {}
                for name, receiver in (("older", older), ("newer", newer)):
                    made = await http.post(
                        "/api/v1/webhooks",
                        json={"url": receiver.url, "events": ["item.updated"]},
                        headers=headers,
                    )
                    assert made.status_code == 201, made.text
                    assert made.json()["api_version"] == str(NEWEST)
                    hooks[name] = made.json()
                # The older endpoint as one made before versions: pinned to the oldest.
                async with services.database.transaction() as uow:
                    await uow.connection.raw.execute(
                        "UPDATE webhook_endpoints SET api_version = $1 WHERE id = $2",
                        str(OLDEST),
                        hooks["older"]["id"],
                    )
                shown = await http.get(f"/api/v1/webhooks/{hooks['older']['id']}", headers=headers)
                assert shown.json()["api_version"] == str(OLDEST)

                item = (
                    await http.post("/api/v1/items", json={"title": "A"}, headers=headers)
                ).json()
                changed = await http.patch(
                    f"/api/v1/items/{item['id']}", json={"title": "B"}, headers=headers
                )
                assert changed.status_code == 200
                (old_request,) = await older.wait_for(1, within=30)
                (new_request,) = await newer.wait_for(1, within=30)

                old_payload = Webhook(hooks["older"]["secret"]).verify(
                    old_request.body, old_request.headers
                )
                new_payload = Webhook(hooks["newer"]["secret"]).verify(
                    new_request.body, new_request.headers
                )
                event_id = old_request.headers["webhook-id"]
                assert new_request.headers["webhook-id"] == event_id
                assert old_payload["data"]["item"]["version"] == 2
                assert "revision" not in old_payload["data"]["item"]
                assert new_payload["data"]["item"]["revision"] == 2
                assert "version" not in new_payload["data"]["item"]
                for request, version in ((old_request, OLDEST), (new_request, NEWEST)):
                    event = await http.get(
                        f"/api/v1/events/{event_id}",
                        headers={**headers, "Tandem-Version": str(version)},
                    )
                    assert request.body == event.content, version
        finally:
            await asyncio.to_thread(served.stop)
