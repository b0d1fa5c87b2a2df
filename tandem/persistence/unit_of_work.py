"""The unit of work: one connection, the repositories bound to it."""

from __future__ import annotations

from tandem.persistence.auth.repository import TokenRepository
from tandem.persistence.items.repository import ItemRepository
from tandem.persistence.sql import Connection
from tandem.persistence.users.repository import UserRepository


class UnitOfWork:
    """Repositories over one connection. Whoever opened it owns the commit; services never do."""

    __slots__ = ("connection", "items", "tokens", "users")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.users = UserRepository(connection)
        self.items = ItemRepository(connection)
        self.tokens = TokenRepository(connection)
