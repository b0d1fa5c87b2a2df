"""What the client use cases need from storage; persistence implements it."""

from __future__ import annotations

import uuid
from typing import Protocol

from tandem.domain.clients.records import ClientCredentials, ClientPrincipalRow, ClientRecord


class ClientRepository(Protocol):
    async def add(
        self,
        *,
        client_id: str,
        name: str,
        user_id: int,
        scopes: str,
        secret_hash: bytes,
        generation: uuid.UUID,
        api_version: str,
    ) -> ClientRecord: ...

    async def pin(self, id_: int, api_version: str) -> ClientRecord | None: ...

    async def all(self) -> list[ClientRecord]: ...

    async def credentials(self, client_id: str) -> ClientCredentials | None: ...

    async def rotate(
        self, id_: int, *, secret_hash: bytes, generation: uuid.UUID
    ) -> ClientRecord | None: ...

    async def delete(self, id_: int) -> bool: ...

    async def principal(
        self, *, user_id: int, client_id: str, generation: uuid.UUID | None, jti: uuid.UUID
    ) -> ClientPrincipalRow | None: ...
