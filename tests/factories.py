"""Plain async factories: create what a test needs through the same domain services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from tandem.domain.services import Services
from tandem.domain.users.commands import RegisterUser
from tandem.domain.users.records import UserRecord

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


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
