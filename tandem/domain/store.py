"""The storage the use cases run on, as ports: persistence implements them, the domain never
imports persistence.

The dependency points from persistence to the domain (persistence builds domain records;
the domain names only these Protocols), so the rules and the records can be read, typed and
unit-tested without a database, and the composition root (`tandem.app`) plugs the real one in.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from tandem.domain.auth.ports import PasswordResetRepository, TokenRepository
from tandem.domain.clients.ports import ClientRepository
from tandem.domain.events.ports import EventStore
from tandem.domain.idempotency.ports import IdempotencyRepository
from tandem.domain.items.ports import ItemRepository
from tandem.domain.mail.ports import MailOutbox
from tandem.domain.requests.ports import RequestLogStore
from tandem.domain.users.ports import UserRepository
from tandem.domain.webhooks.ports import WebhookStore


class UnitOfWork(Protocol):
    """Repositories over one connection; whoever opened it owns the commit."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def items(self) -> ItemRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def events(self) -> EventStore:
        """The outbox: append in the change's transaction (tandem/domain/events)."""
        ...

    @property
    def webhooks(self) -> WebhookStore: ...

    @property
    def clients(self) -> ClientRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def resets(self) -> PasswordResetRepository: ...

    @property
    def mail(self) -> MailOutbox:
        """The mail outbox: queue in the deciding transaction (tandem/domain/mail)."""
        ...

    @property
    def requests(self) -> RequestLogStore:
        """Each caller's recent requests (tandem/domain/requests)."""
        ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work that commits once, when the block ends without an error."""
        ...

    def reader(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for reads, outside any transaction."""
        ...

    def session(self) -> AbstractAsyncContextManager[None]:
        """The blocks opened inside, by this task and the tasks it starts, take turns on one
        connection (a read request's, end to end)."""
        ...

    async def is_ready(self) -> bool:
        """Reachable and migrated."""
        ...
