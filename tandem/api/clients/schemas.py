"""REST shapes for partner API clients."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tandem.api.schemas import Input
from tandem.api.users.schemas import NAME_TEXT
from tandem.api.versioning import ApiVersionIn, ApiVersionText
from tandem.domain.clients.records import ClientRecord, IssuedClient
from tandem.domain.users.rules import NAME_MAX_LENGTH

Scope = Literal[
    "items:read", "items:write", "users:read", "users:write", "webhooks:read", "webhooks:write"
]


class ClientCreate(Input):
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=NAME_MAX_LENGTH,
            examples=["Acme sync"],
            json_schema_extra=NAME_TEXT,  # a name, checked as a user's is (no layout)
        ),
    ]
    # At most 2**53 - 1, as I-JSON (RFC 7493) bounds a JSON integer that every reader keeps
    # exact; ids are far below it.
    user_id: Annotated[
        int, Field(ge=1, le=2**53 - 1, examples=[2], description="The user the client acts for")
    ]
    scopes: Annotated[
        list[Scope],
        Field(min_length=1, max_length=6, description="The most its tokens may ever hold"),
    ]


class ClientUpdate(Input):
    api_version: ApiVersionIn


class ClientOut(BaseModel):
    id: int
    name: str
    user_id: int
    scopes: list[Scope]
    client_id: str
    created_at: datetime
    api_version: ApiVersionText


class ClientWithSecret(ClientOut):
    client_secret: str = Field(description="Shown in this answer only; stored hashed")


def client_out(client: ClientRecord) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        user_id=client.user_id,
        scopes=sorted(client.scopes),
        client_id=client.client_id,
        created_at=client.created_at,
        api_version=client.api_version,
    )


def with_secret(issued: IssuedClient) -> ClientWithSecret:
    return ClientWithSecret(
        **client_out(issued.client).model_dump(), client_secret=issued.client_secret
    )
