"""`tandem serve` runs a worker of its own, unless told not to (`--no-worker`: SERVE_WORKER=false)."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import PASSWORD, make_user
from tests.ops.served import serve
from tests.webhooks.receiver import Receiver, running


async def _sign_in(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    tokens = await http.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def test_serve_delivers_webhooks_itself_and_not_with_no_worker(
    services, database_url, tmp_path
):
    user = await make_user(services)
    async with running(Receiver()) as receiver:
        served = await asyncio.to_thread(serve, database_url, tmp_path, WORKER_POLL_SECONDS="0.5")
        try:
            async with httpx.AsyncClient(base_url=served.url) as http:
                headers = await _sign_in(http, user.email)
                hook = await http.post(
                    "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=headers
                )
                assert hook.status_code == 201, hook.text
                made = await http.post("/api/v1/items", json={"title": "A"}, headers=headers)
                assert made.status_code == 201
                await receiver.wait_for(1, within=30)
        finally:
            await asyncio.to_thread(served.stop)

        quiet = await asyncio.to_thread(serve, database_url, tmp_path, SERVE_WORKER="false")
        try:
            async with httpx.AsyncClient(base_url=quiet.url) as http:
                headers = await _sign_in(http, user.email)
                made = await http.post("/api/v1/items", json={"title": "B"}, headers=headers)
                assert made.status_code == 201
            await asyncio.sleep(2)
            assert len(receiver.requests) == 1
            async with services.database.reader() as uow:
                listening = await uow.connection.raw.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'tandem-listen' AND datname = current_database()"
                )
            assert listening == 0
        finally:
            await asyncio.to_thread(quiet.stop)
