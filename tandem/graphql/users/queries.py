"""User queries: yourself, one user, and (for administrators) every user."""

from __future__ import annotations

import strawberry

from tandem.graphql.context import Info
from tandem.graphql.relay import After, Before, First, Last, database_id, window
from tandem.graphql.users.types import User, UserConnection


@strawberry.type
class UserQueries:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> User | None:
        return User.of(await info.context.services.users.me(info.context.principal))

    @strawberry.field(description="A user by global ID; null with NOT_FOUND when there is none.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        view = await info.context.services.users.get(
            info.context.principal, database_id(info, id, "User")
        )
        return User.of(view.user)

    @strawberry.field(description="Every user, oldest first (administrators only).")
    async def users(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> UserConnection:
        paging = window(first, after, last, before)
        info.context.resolving()
        services, principal = info.context.services, info.context.principal
        page = await services.users.slice(principal, paging)

        async def count() -> int:
            return await services.users.count(principal)

        return UserConnection.of(page, count)
