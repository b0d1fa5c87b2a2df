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
    """Repositories over one connection. Whoever opened it owns the commit; services never do."""

    __slots__ = (
        "clients",
        "connection",
        "events",
        "idempotency",
        "items",
        "mail",
        "requests",
        "resets",
        "tokens",
        "users",
        "webhooks",
    )

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.users = UserRepository(connection)
        self.items = ItemRepository(connection)
        self.tokens = TokenRepository(connection)
        self.events = EventRepository(connection)
        self.webhooks = WebhookRepository(connection)
        self.clients = ClientRepository(connection)
        self.idempotency = IdempotencyRepository(connection)
        self.resets = PasswordResetRepository(connection)
        self.mail = MailOutboxRepository(connection)
        self.requests = RequestLogRepository(connection)
