"""An idempotent replay is authorised like the original, and charged like it (issue 20, finding 6).

On 1720acf the key belonged to the user, and the stored answer was replayed before the
route's checks: an `items:read` token of an admin replayed `POST /clients` and got the
client secret, and so did the admin after a demotion; replays were never charged.
"""

from __future__ import annotations

import uuid

from tests.api.assertions import assert_problem
from tests.factories import PASSWORD, make_account

CLIENTS = "/api/v1/clients"


async def read_only_token(client, email: str) -> str:
    answer = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "password",
            "username": email,
            "password": PASSWORD,
            "scope": "items:read",
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def test_a_narrower_token_of_the_same_user_never_replays_a_secret(client, services):
    admin = await make_account(services, client, role="admin")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Sync", "user_id": admin.id, "scopes": ["items:read"]}
    first = await client.post(CLIENTS, json=body, headers={**admin.headers, **key})
    assert first.status_code == 201, first.text
    narrow = await read_only_token(client, admin.user.email)
    replay = await client.post(
        CLIENTS, json=body, headers={"Authorization": f"Bearer {narrow}", **key}
    )
    assert replay.status_code == 403, replay.text
    assert "idempotent-replayed" not in replay.headers
    assert first.json()["client_secret"] not in replay.text


async def test_a_demoted_admin_never_replays_a_secret(client, services):
    boss = await make_account(services, client, role="admin")
    admin = await make_account(services, client, role="admin")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Sync", "user_id": admin.id, "scopes": ["items:read"]}
    first = await client.post(CLIENTS, json=body, headers={**admin.headers, **key})
    assert first.status_code == 201, first.text
    down = await client.patch(
        f"/api/v1/users/{admin.id}", json={"role": "member"}, headers=boss.headers
    )
    assert down.status_code == 200, down.text
    replay = await client.post(CLIENTS, json=body, headers={**admin.headers, **key})
    assert_problem(replay, 403, "FORBIDDEN")
    assert first.json()["client_secret"] not in replay.text


async def test_the_same_token_replays_and_each_replay_is_charged(client, services):
    ada = await make_account(services, client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    headers = {**ada.headers, **key}
    first = await client.post("/api/v1/items", json={"title": "Lamp"}, headers=headers)
    assert first.status_code == 201, first.text
    used = int(first.headers["x-ratelimit-used"])
    replay = await client.post("/api/v1/items", json={"title": "Lamp"}, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert int(replay.headers["x-ratelimit-used"]) == used + 1
    reused = await client.post("/api/v1/items", json={"title": "Other"}, headers=headers)
    assert_problem(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert int(reused.headers["x-ratelimit-used"]) == used + 2
