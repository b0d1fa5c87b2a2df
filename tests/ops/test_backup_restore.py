"""A logical backup of a live Tandem restores into a new database that Tandem then serves.

`pg_dump --format=custom` (of the server's own major version) while requests are writing,
`pg_restore` into a fresh database, and a new Tandem over it: the events, the webhooks (and
their pending deliveries, signed with the same secret), the partner clients (their secrets
still verify), the accounts, and the identity sequences (a new item follows the old ones)
are all there. docs/deploy.md, "Backups and restore".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tandem.app import create_app, services_for
from tandem.config import Settings
from tandem.persistence.database import Database
from tests.factories import make_account, make_item
from tests.ops.clusters import Cluster, new_root, remove
from tests.ops.clusters import program as cluster_program
from tests.ops.clusters import run as cluster_run
from tests.ops.databases import connect, fetchval, new_database
from tests.ops.postgres_tools import client_program, libpq_environment
from tests.partners.helpers import make_client
from tests.webhooks.conftest import QUICK
from tests.webhooks.helpers import register, worker_running
from tests.webhooks.receiver import Receiver, running

TOKEN = "/api/v1/auth/token"
TANDEM = str(Path(sys.executable).with_name("tandem"))


@contextlib.asynccontextmanager
async def tandem_over(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A Tandem app of its own over `settings.database_url`, as a fresh deployment runs it."""
    assert settings.database_url is not None
    database = Database(settings.database_url, pool_size=4)
    app = create_app(settings, services=services_for(settings, database))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await database.dispose()


async def all_events(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await client.get("/api/v1/events", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        events += body["items"]
        if not body["has_more"]:
            return events
        params["after"] = body["next_cursor"]


async def dump_programs(url: str) -> tuple[Path, Path]:
    """pg_dump and pg_restore of the major version of `url`'s server (a mismatch refuses)."""
    major = int(str(await fetchval(url, "SHOW server_version_num"))) // 10_000
    pg_dump, pg_restore = client_program("pg_dump", major), client_program("pg_restore", major)
    if pg_dump is None or pg_restore is None:
        pytest.fail(f"no pg_dump/pg_restore of PostgreSQL {major} is installed")
    return pg_dump, pg_restore


async def run(program: Path, *args: str, url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        str(program),
        *args,
        env=libpq_environment(url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


async def test_a_dump_of_a_live_tandem_restores_into_a_database_tandem_serves(
    services, client, settings, database_url, tmp_path
):
    pg_dump, pg_restore = await dump_programs(database_url)

    admin = await make_account(services, client, role="admin")
    owner = await make_account(services, client)
    async with running(Receiver()) as receiver:
        hook = await register(client, owner, receiver.url)
        client_id, client_secret = await make_client(services, user_id=owner.id)
        kept = await make_item(client, owner, title="Kept", price="12.50", tags=["lamp"])
        changed = await make_item(client, owner, title="Before")
        gone = await make_item(client, owner, title="Gone")
        assert (
            await client.patch(
                f"/api/v1/items/{changed['id']}", json={"title": "After"}, headers=owner.headers
            )
        ).status_code == 200
        assert (
            await client.delete(f"/api/v1/items/{gone['id']}", headers=owner.headers)
        ).status_code == 204

        # The dump runs while requests keep writing: it must be one consistent snapshot.
        dump = tmp_path / "tandem.dump"
        writing = asyncio.Event()

        async def keep_writing() -> int:
            written = 0
            while not writing.is_set() or written < 5:
                await make_item(client, owner, title=f"During {written}")
                written += 1
            return written

        writer = asyncio.create_task(keep_writing())
        await run(pg_dump, "--format=custom", "--no-owner", f"--file={dump}", url=database_url)
        writing.set()
        await writer
        before = await all_events(client, admin.headers)

        async with new_database(database_url, "restored") as restored_url:
            restored_name = restored_url.rsplit("/", 1)[1].split("?")[0]
            await run(
                pg_restore,
                "--exit-on-error",
                "--no-owner",
                f"--dbname={restored_name}",
                str(dump),
                url=restored_url,
            )
            restored = settings.model_copy(update={"database_url": restored_url, **QUICK})
            async with tandem_over(restored) as fresh:
                assert (await fresh.get("/readyz")).status_code == 200

                # Accounts and their passwords; the events, a consistent prefix of the live ones.
                signed_in = await fresh.post(
                    TOKEN,
                    data={
                        "grant_type": "password",
                        "username": owner.user.email,
                        "password": owner.password,
                    },
                )
                assert signed_in.status_code == 200, signed_in.text
                headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
                admin_token = await fresh.post(
                    TOKEN,
                    data={
                        "grant_type": "password",
                        "username": admin.user.email,
                        "password": admin.password,
                    },
                )
                events = await all_events(
                    fresh, {"Authorization": f"Bearer {admin_token.json()['access_token']}"}
                )
                assert len(events) >= 5 and events == before[: len(events)]
                created = [e["data"]["item"]["id"] for e in events if e["type"] == "item.created"]
                items = await fresh.get("/api/v1/items", params={"size": 100}, headers=headers)
                listed = {item["id"] for item in items.json()["items"]}
                # Every item in the snapshot has its event, and no event outlived its item.
                assert listed == set(created) - {gone["id"]}
                assert (await fresh.get(f"/api/v1/items/{kept['id']}", headers=headers)).json()[
                    "price"
                ] == "12.50"
                assert (await fresh.get(f"/api/v1/items/{changed['id']}", headers=headers)).json()[
                    "title"
                ] == "After"

                # Partner clients: the secret still verifies.
                granted = await fresh.post(
                    TOKEN,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": client_id,
                        "client_secret": client_secret,
                    },
                )
                assert granted.status_code == 200, granted.text

                # Webhooks: the endpoint, and its pending deliveries sent from the restored
                # database, signed with the secret the partner holds.
                hooks = await fresh.get("/api/v1/webhooks", headers=headers)
                assert [h["id"] for h in hooks.json()["items"]] == [hook["id"]]
                # No worker ran on the live database, so every event's delivery is pending.
                assert receiver.requests == []
                async with worker_running(restored):
                    arrived = await receiver.wait_for(len(events))
                for request in arrived:
                    Webhook(hook["secret"]).verify(request.body, request.headers)
                assert sorted(r.headers["webhook-id"] for r in arrived) == sorted(
                    e["id"] for e in events
                )

                # The identity sequences came along: a new item follows the old ones.
                newest = await fresh.post(
                    "/api/v1/items", json={"title": "After the restore"}, headers=headers
                )
                assert newest.status_code == 201, newest.text
                assert newest.json()["id"] > max(created)
                assert (await all_events(fresh, headers))[-1]["data"]["item"][
                    "id"
                ] == newest.json()["id"]


async def burn_transaction_ids(url: str, count: int) -> None:
    """Run `count` transactions that take an id, as any cluster that has served a while has."""
    connection = await connect(url)
    try:
        for _ in range(count):
            await connection.execute("SELECT pg_current_xact_id()")
    finally:
        await connection.close()


def tandem_migrate(url: str, directory: Path) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], "DATABASE_URL": url, "DATA_DIR": str(directory)}
    return subprocess.run(
        [TANDEM, "migrate"], env=environment, capture_output=True, text=True, check=False
    )


async def test_a_restore_into_a_younger_cluster_is_refused_until_its_epoch_is_advanced(
    services, client, settings, database_url, tmp_path
):
    pg_dump, _ = await dump_programs(database_url)
    await burn_transaction_ids(database_url, 3000)
    owner = await make_account(services, client)
    for title in ("One", "Two", "Three"):
        await make_item(client, owner, title=title)
    before = await all_events(client, owner.headers)
    dump = tmp_path / "tandem.dump"
    await run(pg_dump, "--format=custom", "--no-owner", f"--file={dump}", url=database_url)

    cluster = Cluster(new_root()).initdb().start()
    _, pg_restore = await dump_programs(cluster.url())
    try:
        async with new_database(cluster.url(), "restored") as url:
            name = url.rsplit("/", 1)[1].split("?")[0]
            await run(
                pg_restore, "--exit-on-error", "--no-owner", f"--dbname={name}", str(dump), url=url
            )

            # Served as it is, the events API hides every old event (they sit above the
            # cluster's horizon) ...
            async with tandem_over(settings.model_copy(update={"database_url": url})) as unfixed:
                signed_in = await unfixed.post(
                    TOKEN,
                    data={
                        "grant_type": "password",
                        "username": owner.user.email,
                        "password": owner.password,
                    },
                )
                headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
                assert await all_events(unfixed, headers) == []
            # ... so Tandem refuses to start on it, in one line that names the fix.
            refused = await asyncio.to_thread(tandem_migrate, url, tmp_path)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
            epoch = re.search(r"pg_resetwal -e (\d+)", refused.stderr)
            assert epoch, refused.stderr

            # The fix it names, on the stopped cluster.
            cluster.stop()
            cluster_run(
                cluster_program("pg_resetwal"), "-e", epoch.group(1), "-D", str(cluster.pgdata)
            )
            cluster.start()
            migrated = await asyncio.to_thread(tandem_migrate, url, tmp_path)
            assert migrated.returncode == 0, migrated.stderr

            async with tandem_over(settings.model_copy(update={"database_url": url})) as fresh:
                signed_in = await fresh.post(
                    TOKEN,
                    data={
                        "grant_type": "password",
                        "username": owner.user.email,
                        "password": owner.password,
                    },
                )
                headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
                assert await all_events(fresh, headers) == before
                newest = await fresh.post("/api/v1/items", json={"title": "Four"}, headers=headers)
                assert newest.status_code == 201, newest.text
                events = await all_events(fresh, headers)
                assert events[:-1] == before
                assert events[-1]["data"]["item"]["id"] == newest.json()["id"]
    finally:
        remove(cluster)
