"""GraphQL types for users, written by hand (not generated from the REST schemas)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry

from tandem.domain.pages import Slice
from tandem.domain.users.records import Role, UserRecord
from tandem.domain.users.service import sees_private
from tandem.graphql.context import Info
from tandem.graphql.items.inputs import ItemFilter, item_query
from tandem.graphql.items.types import ItemConnection
from tandem.graphql.projection import Projection
from tandem.graphql.relay import After, Before, First, Last, Node, PageInfo, window

strawberry.enum(Role)  # the domain's roles, as a GraphQL enum


@strawberry.type
class User(Node):
    database_id: int
    name: str
    created_at: datetime
    record: strawberry.Private[UserRecord]

    @strawberry.field(description="Null unless you are this user or an administrator.")
    def email(self, info: Info) -> str | None:
        return self.record.email if self._private(info) else None

    @strawberry.field(description="Null unless you are this user or an administrator.")
    def role(self, info: Info) -> Role | None:
        return Role(self.record.role) if self._private(info) else None

    @strawberry.field
    async def items(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: ItemFilter | None = None,
    ) -> ItemConnection:
        query = item_query(filter)
        paging = window(first, after, last, before)
        if query.owner_id is not None and query.owner_id != self.database_id:
            # another owner's items are never this user's
            return ItemConnection.of(info, Slice([], str, has_more=False), _zero)
        loaders = info.context.loaders
        info.context.resolving(query)
        page = await loaders.items_of_owner.load((self.database_id, paging, query))

        async def count() -> int:
            return await loaders.item_count_of_owner.load((self.database_id, query))

        return ItemConnection.of(info, page, count, owners={self.database_id: self.record})

    def _private(self, info: Info) -> bool:
        principal = info.context.principal
        return principal is not None and sees_private(principal, self.database_id)

    @classmethod
    def of(cls, user: UserRecord) -> User:
        """The user, all its fields copied from the record."""
        return _user_of(user)


# `items` hands the user's record on to its connection, as its items' owner: all of it.
USER = Projection(User, UserRecord, derived={"items": None}, entries={"record": "record"})
_user_of = USER.maker(None, True)


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    nodes: list[User]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many users there are, across all pages (costs a count).")
    async def total_count(self) -> int:
        return await self.counter()

    @classmethod
    def of(cls, page: Slice[UserRecord], counter: Callable[[], Awaitable[int]]) -> UserConnection:
        nodes = [User.of(record) for record in page.items]
        edges = [
            UserEdge(cursor=page.cursor_of(record), node=node)
            for record, node in zip(page.items, nodes, strict=True)
        ]
        return cls(edges=edges, nodes=nodes, page_info=PageInfo.of(page), counter=counter)


@strawberry.input
class UpdateMeInput:
    name: str | None = strawberry.UNSET
    password: str | None = strawberry.UNSET
    current_password: str | None = strawberry.UNSET


async def _zero() -> int:
    return 0
