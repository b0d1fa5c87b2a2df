"""User mutations."""

from __future__ import annotations

from typing import Any

import strawberry

from tandem.domain.users.commands import UpdateMe
from tandem.graphql.context import Info
from tandem.graphql.users.types import UpdateMeInput, User


@strawberry.type
class UserMutations:
    @strawberry.mutation(description="Change your name or password (with `currentPassword`).")
    async def update_me(self, info: Info, input: UpdateMeInput) -> User:
        values: dict[str, Any] = {
            name: getattr(input, name)
            for name in ("name", "password", "current_password")
            if getattr(input, name) not in (strawberry.UNSET, None)
        }
        user = await info.context.services.users.update_me(
            info.context.principal, UpdateMe(**values)
        )
        return User.of(user)
