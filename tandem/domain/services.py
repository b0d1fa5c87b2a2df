"""The domain's use cases, composed once at start-up and shared by both faces."""

from __future__ import annotations

from dataclasses import dataclass

from tandem.domain.auth.passwords import PasswordHasher
from tandem.domain.auth.recovery import TOO_MANY as TOO_MANY_RECOVERIES
from tandem.domain.auth.recovery import PasswordRecovery
from tandem.domain.auth.service import AuthService
from tandem.domain.auth.throttle import LoginThrottle
from tandem.domain.auth.tokens import AccessTokenCodec
from tandem.domain.clients.service import ClientService
from tandem.domain.events.service import EventService
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.idempotency.sealing import AnswerSeal
from tandem.domain.idempotency.service import IdempotencyService
from tandem.domain.items.service import ItemService
from tandem.domain.rate_limits import CounterStore, RateLimiter
from tandem.domain.realtime.fanout import Fanout
from tandem.domain.realtime.service import SubscriptionService
from tandem.domain.store import Store
from tandem.domain.users.service import UserService
from tandem.domain.webhooks.service import WebhookPolicy, WebhookService
from tandem.observability import metrics


@dataclass(frozen=True, slots=True)
class Services:
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


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    keys: list[str]
    issuer: str
    audience: str
    access_ttl_seconds: int
    refresh_ttl_seconds: int
    hash_time_cost: int
    hash_memory_kib: int
    login_failures_per_account: int
    login_failures_per_address: int
    login_failure_window_seconds: int
    reset_ttl_seconds: int = 3600
    recoveries_per_account: int = 5
    recoveries_per_address: int = 20
    recovery_window_seconds: int = 3600


def build_services(
    *,
    database: Store,
    scoped: ScopedStore,
    counters: CounterStore,
    auth: AuthPolicy,
    rate: tuple[int, int] | None,
    webhooks: WebhookPolicy,
    fanout: Fanout | None = None,
    subscription_recheck_seconds: float = 10.0,
) -> Services:
    """Compose the use cases; `rate` is (points, window seconds), or None for no rate limit.

    The use cases that write do so through `scoped`: inside an idempotency scope their
    transaction is the scope's, so the stored answer commits with the write
    (domain/idempotency/service.py).
    """
    hasher = PasswordHasher(time_cost=auth.hash_time_cost, memory_kib=auth.hash_memory_kib)
    codec = AccessTokenCodec(
        keys=auth.keys,
        issuer=auth.issuer,
        audience=auth.audience,
        ttl_seconds=auth.access_ttl_seconds,
    )
    throttle = LoginThrottle(
        counters,
        per_account=auth.login_failures_per_account,
        per_address=auth.login_failures_per_address,
        window_seconds=auth.login_failure_window_seconds,
    )
    recovery_throttle = LoginThrottle(
        counters,
        per_account=auth.recoveries_per_account,
        per_address=auth.recoveries_per_address,
        window_seconds=auth.recovery_window_seconds,
        prefix="recovery",
        message=TOO_MANY_RECOVERIES,
        refusals=metrics.RECOVERY_THROTTLE_REFUSALS,
    )
    clients = ClientService(database=scoped)
    limiter = None
    if rate is not None:
        limiter = RateLimiter(counters, points=rate[0], window_seconds=rate[1])
    auth_service = AuthService(
        database=database,
        hasher=hasher,
        codec=codec,
        throttle=throttle,
        refresh_ttl_seconds=auth.refresh_ttl_seconds,
        clients=clients,
    )
    return Services(
        database=database,
        auth=auth_service,
        recovery=PasswordRecovery(
            database=scoped,
            hasher=hasher,
            throttle=recovery_throttle,
            ttl_seconds=auth.reset_ttl_seconds,
        ),
        users=UserService(database=scoped, hasher=hasher),
        items=ItemService(database=scoped),
        clients=clients,
        idempotency=IdempotencyService(transactions=scoped, seal=AnswerSeal(auth.keys)),
        rate_limiter=limiter,
        events=EventService(database=scoped),
        webhooks=WebhookService(database=scoped, policy=webhooks),
        subscriptions=SubscriptionService(
            fanout=fanout if fanout is not None else Fanout(),
            auth=auth_service,
            codec=codec,
            recheck_seconds=subscription_recheck_seconds,
        ),
    )
