"""User queries: yourself, one user, and (for administrators) every user."""

from __future__ import annotations

import strawberry

from tandem.domain.pages import DEFAULT_PAGE_SIZE, check_first, decode_id_cursor, encode_id_cursor
from tandem.graphql.context import Info
from tandem.graphql.relay import PageInfo, database_id
from tandem.graphql.users.types import User, UserConnection, UserEdge


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
        self, info: Info, first: int | None = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> UserConnection:
        first = DEFAULT_PAGE_SIZE if first is None else first
        check_first(first)
        after_id = decode_id_cursor(after) if after else None
        info.context.connections_resolved += 1
        records, total = await info.context.services.users.keyset(
            info.context.principal, after_id=after_id, limit=first + 1
        )
        nodes = [User.of(record) for record in records[:first]]
        cursors = [encode_id_cursor(node.database_id) for node in nodes]
        return UserConnection(
            edges=[UserEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=PageInfo.forward(cursors, has_more=len(records) > first),
            total_count=total,
        )
