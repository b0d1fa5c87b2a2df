"""The data commands, run as a user runs them: `tandem create-user` and `tandem seed-demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tandem.cli import DEMO_PASSWORD
from tests.factories import login

TANDEM = [sys.executable, "-m", "tandem.cli"]
ROOT = Path(__file__).resolve().parents[1]


def tandem(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*TANDEM, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_create_user_makes_an_admin_who_can_sign_in(client, database_url):
    done = tandem(
        "create-user",
        "--email",
        "Root@Example.com",
        "--name",
        "Root",
        "--password",
        "a long root password",
        "--role",
        "admin",
        database_url=database_url,
    )
    assert done.returncode == 0, done.stderr
    tokens = await login(client, "root@example.com", "a long root password")
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["role"] == "admin"

    again = tandem(
        "create-user",
        "--email",
        "root@example.com",
        "--name",
        "Root",
        "--password",
        "a long root password",
        database_url=database_url,
    )
    assert (
        again.returncode == 1
        and "already exists" in again.stderr
        and "Traceback" not in again.stderr
    )


async def test_seed_demo_loads_users_and_items_once(client, database_url):
    first = tandem("seed-demo", database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert "demo data loaded (3 users, 7 items)" in first.stdout
    # Each account with its role, as a newcomer needs them to try the admin-only routes.
    lines = [" ".join(line.split()) for line in first.stdout.splitlines()]
    assert "ada@example.com admin Ada Lovelace" in lines
    assert "grace@example.com member Grace Hopper" in lines
    assert "alan@example.com member Alan Turing" in lines
    assert f"Every demo account's password: {DEMO_PASSWORD}" in lines
    second = tandem("seed-demo", database_url=database_url)
    assert second.returncode == 0, second.stderr
    # Running it again changes nothing, and says so.
    assert "the demo data is already there (3 demo users); nothing was added" in second.stdout

    # The one it calls admin is one: ada may list the API clients, grace may not.
    for email, status in (("ada@example.com", 200), ("grace@example.com", 403)):
        signed_in = await login(client, email, DEMO_PASSWORD)
        clients = await client.get(
            "/api/v1/clients", headers={"Authorization": f"Bearer {signed_in['access_token']}"}
        )
        assert clients.status_code == status, clients.text

    tokens = await login(client, "grace@example.com", DEMO_PASSWORD)
    listed = await client.get(
        "/api/v1/items", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    # Every published or archived item, and none of the two drafts (they are not Grace's).
    assert listed.json()["total"] == 5
