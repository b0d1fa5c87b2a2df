"""Plain async factories: create what a test needs through the same domain services."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Column
from sqlalchemy.sql.functions import FunctionElement

from tandem.domain.items.records import ItemRecord
from tandem.domain.services import Services
from tandem.domain.users.commands import RegisterUser
from tandem.domain.users.records import UserRecord

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)
CREATED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _column_default(column: Column[Any], now: datetime) -> Any:
    """What PostgreSQL writes in `column` when an insert leaves it out, read off the model's
    own `server_default` (None for a nullable column without one)."""
    default = column.server_default
    if default is None:
        return None
    given = default.arg  # type: ignore[attr-defined]
    if isinstance(given, FunctionElement):  # now()
        return now
    text = str(getattr(given, "text", given)).strip("'")
    kind = column.type.python_type
    return [] if kind is list else kind(text)


def item_record(*, now: datetime = CREATED, **given: Any) -> ItemRecord:
    """An item as the database holds it after inserting `given`: every other column takes
    its own default, so a new field with a default needs no edit here (nor in the fakes)."""
    from tandem.persistence.items.models import Item  # the tables only, no connection

    values: dict[str, Any] = {"id": 1, "owner_id": 1, "title": "Item"}
    for entry in dataclasses.fields(ItemRecord):
        if entry.name in Item.__table__.c and entry.name not in values:
            values[entry.name] = _column_default(Item.__table__.c[entry.name], now)
    return ItemRecord(**{**values, **given})


@dataclass
class Account:
    user: UserRecord
    password: str
    access_token: str
    refresh_token: str

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def make_user(
    services: Services, *, role: str = "member", email: str | None = None, name: str | None = None
) -> UserRecord:
    number = next(_numbers)
    return await services.users.register(
        RegisterUser(
            email=email or f"user{number}@example.com",
            name=name or f"User {number}",
            password=PASSWORD,
        ),
        role=role,
    )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_account(
    services: Services, client: httpx.AsyncClient, *, role: str = "member", **kwargs: Any
) -> Account:
    user = await make_user(services, role=role, **kwargs)
    tokens = await login(client, user.email)
    return Account(user, PASSWORD, tokens["access_token"], tokens["refresh_token"])


async def make_item(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": f"Item {next(_numbers)}", **fields}
    response = await client.post("/api/v1/items", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item
