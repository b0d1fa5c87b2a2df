"""The domain's use cases as both faces receive them; `tandem.app` composes them once."""

from __future__ import annotations

from dataclasses import dataclass

from tandem.domain.auth.recovery import PasswordRecovery
from tandem.domain.auth.service import AuthService
from tandem.domain.clients.service import ClientService
from tandem.domain.events.service import EventService
from tandem.domain.idempotency.service import IdempotencyService
from tandem.domain.items.service import ItemService
from tandem.domain.rate_limits import RateLimiter
from tandem.domain.realtime.service import SubscriptionService
from tandem.domain.requests.service import RequestLogService
from tandem.domain.store import Store
from tandem.domain.users.service import UserService
from tandem.domain.webhooks.service import WebhookService


@dataclass(frozen=True, slots=True)
class Services:
    """The use cases, and `database`: the plain store, for readiness and infrastructure only
    (every use case writes through the composition root's one scoped store)."""

    database: Store
    auth: AuthService
    recovery: PasswordRecovery
    users: UserService
    items: ItemService
    clients: ClientService
    idempotency: IdempotencyService
    rate_limiter: RateLimiter | None
    events: EventService
    webhooks: WebhookService
    subscriptions: SubscriptionService
    requests: RequestLogService
