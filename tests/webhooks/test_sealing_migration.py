"""Migration 0017 seals the webhook secrets stored in the clear before it."""

from __future__ import annotations

import asyncio

from alembic import command

from tandem.domain.webhooks.sealing import SecretSeal
from tandem.domain.webhooks.signing import new_secret
from tandem.persistence.migrate import alembic_config
from tests.factories import make_user

BEFORE = "0016_trace_context"
SEALING = "0017_sealed_secrets"


async def test_the_migration_seals_the_secrets_stored_in_the_clear(services, settings, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", settings.secret_key)  # the app's key, as in production
    owner = await make_user(services)
    secret, previous = new_secret(), new_secret()
    async with services.database.transaction() as uow:
        # A row as the release before wrote it, and the schema marked as of that release
        # (its columns were narrower; widening them again changes nothing).
        await uow.connection.raw.execute(
            "INSERT INTO webhook_endpoints (owner_id, url, events, secret, previous_secret)"
            " VALUES ($1, 'http://127.0.0.1:9/old', '{*}', $2, $3)",
            owner.id,
            secret,
            previous,
        )
        await uow.connection.raw.execute("UPDATE alembic_version SET version_num = $1", BEFORE)
    config = alembic_config(settings.database_url)
    try:
        # Only the sealing migration runs again: the later ones are in place already.
        await asyncio.to_thread(command.upgrade, config, SEALING)
    finally:  # the schema is at head: say so, or every later test's server refuses to start
        await asyncio.to_thread(command.stamp, config, "head")
    async with services.database.reader() as uow:
        stored = await uow.connection.raw.fetchrow(
            "SELECT secret, previous_secret FROM webhook_endpoints"
        )
    seal = SecretSeal([settings.secret_key])
    assert stored["secret"].startswith("sealed:v1:") and secret not in stored["secret"]
    assert seal.open(stored["secret"]) == secret
    assert seal.open(stored["previous_secret"]) == previous
