"""The unit of work: one connection, the repositories bound to it."""

from __future__ import annotations

from tandem.persistence.auth.repository import TokenRepository
from tandem.persistence.auth.resets import PasswordResetRepository
from tandem.persistence.clients.repository import ClientRepository
from tandem.persistence.events.repository import EventRepository
from tandem.persistence.idempotency.repository import IdempotencyRepository
from tandem.persistence.items.repository import ItemRepository
from tandem.persistence.mail.outbox import MailOutboxRepository
from tandem.persistence.requests.repository import RequestLogRepository
from tandem.persistence.sql import Connection
from tandem.persistence.users.repository import UserRepository
from tandem.persistence.webhooks.repository import WebhookRepository


class UnitOfWork:
    """Repositories over one connection. Whoever opened it owns the commit; services never do.

    Each repository is built on first use: a block mostly uses one of them.
    """

    __slots__ = (
        "_clients",
        "_events",
        "_idempotency",
        "_items",
        "_mail",
        "_requests",
        "_resets",
        "_tokens",
        "_users",
        "_webhooks",
        "connection",
    )
    _clients: ClientRepository | None
    _events: EventRepository | None
    _idempotency: IdempotencyRepository | None
    _items: ItemRepository | None
    _mail: MailOutboxRepository | None
    _requests: RequestLogRepository | None
    _resets: PasswordResetRepository | None
    _tokens: TokenRepository | None
    _users: UserRepository | None
    _webhooks: WebhookRepository | None

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._clients = self._events = self._idempotency = self._items = self._mail = (
            self._requests
        ) = self._resets = self._tokens = self._users = self._webhooks = None

    @property
    def clients(self) -> ClientRepository:
        found = self._clients
        if found is None:
            found = self._clients = ClientRepository(self.connection)
        return found

    @property
    def events(self) -> EventRepository:
        found = self._events
        if found is None:
            found = self._events = EventRepository(self.connection)
        return found

    @property
    def idempotency(self) -> IdempotencyRepository:
        found = self._idempotency
        if found is None:
            found = self._idempotency = IdempotencyRepository(self.connection)
        return found

    @property
    def items(self) -> ItemRepository:
        found = self._items
        if found is None:
            found = self._items = ItemRepository(self.connection)
        return found

    @property
    def mail(self) -> MailOutboxRepository:
        found = self._mail
        if found is None:
            found = self._mail = MailOutboxRepository(self.connection)
        return found

    @property
    def requests(self) -> RequestLogRepository:
        found = self._requests
        if found is None:
            found = self._requests = RequestLogRepository(self.connection)
        return found

    @property
    def resets(self) -> PasswordResetRepository:
        found = self._resets
        if found is None:
            found = self._resets = PasswordResetRepository(self.connection)
        return found

    @property
    def tokens(self) -> TokenRepository:
        found = self._tokens
        if found is None:
            found = self._tokens = TokenRepository(self.connection)
        return found

    @property
    def users(self) -> UserRepository:
        found = self._users
        if found is None:
            found = self._users = UserRepository(self.connection)
        return found

    @property
    def webhooks(self) -> WebhookRepository:
        found = self._webhooks
        if found is None:
            found = self._webhooks = WebhookRepository(self.connection)
        return found
