"""The composition root hands every use case the one store that joins an idempotency scope."""

from __future__ import annotations

from pathlib import Path

from tandem.app import services_for
from tandem.config import Settings
from tandem.persistence.database import Database
from tandem.persistence.idempotency.scopes import JoinedTransactions


def test_every_use_case_runs_on_the_one_scoped_store(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://tandem@localhost/tandem",  # never connected to
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        data_dir=tmp_path,
    )
    database = Database(settings.database_url or "")
    services = services_for(settings, database)
    stores = {
        name: getattr(service, "_database", None) or getattr(service, "_transactions", None)
        for name in services.__slots__
        if (service := getattr(services, name)) is not None
        and name not in ("database", "rate_limiter", "subscriptions")
    }
    assert set(stores) == {
        "auth",
        "recovery",
        "users",
        "items",
        "clients",
        "idempotency",
        "events",
        "webhooks",
        "requests",
    }
    scoped = {id(store) for store in stores.values()}
    assert len(scoped) == 1, stores
    only = next(iter(stores.values()))
    assert isinstance(only, JoinedTransactions)
    assert only.store is database
    assert services.database is database
