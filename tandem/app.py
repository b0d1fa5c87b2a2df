"""The composition root: the use cases built once from the settings, and the ASGI application
(both faces, one guard) that serves them. The one module that knows every layer."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.routing import Route, WebSocketRoute

from tandem.api.asyncapi import asyncapi_router
from tandem.api.auth.recovery import router as recovery_router
from tandem.api.auth.router import oauth as oauth_router
from tandem.api.auth.router import router as auth_router
from tandem.api.clients.router import router as clients_router
from tandem.api.document import finish as finish_document
from tandem.api.events.router import router as events_router
from tandem.api.items.router import router as items_router
from tandem.api.requests.router import router as requests_router
from tandem.api.users.router import router as users_router
from tandem.api.versioning import openapi_router, versioned_documents
from tandem.api.webhooks.router import router as webhooks_router
from tandem.config import Settings, get_settings
from tandem.domain.auth.passwords import PasswordHasher
from tandem.domain.auth.recovery import TOO_MANY as TOO_MANY_RECOVERIES
from tandem.domain.auth.recovery import PasswordRecovery
from tandem.domain.auth.service import AuthService
from tandem.domain.auth.throttle import AddressBudget, LoginThrottle, RequestThrottle
from tandem.domain.auth.tokens import AccessTokenCodec
from tandem.domain.clients.service import ClientService
from tandem.domain.events.service import EventService
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.idempotency.sealing import AnswerSeal
from tandem.domain.idempotency.service import IdempotencyService
from tandem.domain.items.service import ItemService
from tandem.domain.rate_limits import CounterStore, Quota, RateLimiter
from tandem.domain.realtime.fanout import Fanout
from tandem.domain.realtime.service import SubscriptionService
from tandem.domain.requests.service import RequestLogService
from tandem.domain.services import Services
from tandem.domain.users.service import UserService
from tandem.domain.webhooks.sealing import SecretSeal
from tandem.domain.webhooks.service import WebhookPolicy, WebhookService
from tandem.graphql.router import TandemGraphQLRouter
from tandem.graphql.sockets import close_open_sockets
from tandem.http import health
from tandem.http.docs_ui.pages import STATIC_PATH
from tandem.http.docs_ui.routes import docs_router, static_files
from tandem.http.errors import install_error_handlers
from tandem.http.going_away import drain_before_closing
from tandem.http.idempotency import Idempotency, document_idempotency
from tandem.http.metrics import metrics_endpoint
from tandem.http.middleware import MediaTypes, RequestContext
from tandem.observability import metrics, tracing
from tandem.observability.requests import count_statement
from tandem.outbound.addresses import AddressGuard
from tandem.outbound.mail.compose import RESET_PATH
from tandem.outbound.webhooks import OneShotSender
from tandem.persistence.counters import MemoryCounters, RedisCounters
from tandem.persistence.database import Database
from tandem.persistence.idempotency.scopes import JoinedTransactions
from tandem.persistence.pool_stats import record_pool, sampling_pool
from tandem.persistence.realtime.feed import OutboxFeed
from tandem.persistence.requests.writer import RequestLogWriter

API_PREFIX = "/api/v1"
QUOTA_HEADERS = list(Quota(limit=0, used=0, reset_at=0).headers())
DESCRIPTION = """\
Tandem's REST face, for partners. Every error is `application/problem+json`
(RFC 9457) with a stable `code`; every response carries `X-Request-ID`.
Authenticate with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`.
The GraphQL face, `/graphql`, is described by its own schema, not here.
"""

OPENAPI_TAGS = [
    {
        "name": "auth",
        "description": "Accounts and tokens: OAuth 2.0 password, refresh and client credentials "
        "grants.",
    },
    {"name": "users", "description": "You, and for administrators, everyone."},
    {"name": "items", "description": "Items: every published one, and your own drafts."},
    {"name": "events", "description": "What changed, oldest first: every item change is an event."},
    {"name": "webhooks", "description": "Events pushed to your URL, signed per Standard Webhooks."},
    {"name": "clients", "description": "Partner API clients (administrators)."},
    {"name": "requests", "description": "Your recent requests, for debugging an integration."},
    {"name": "health", "description": "Liveness and readiness, for orchestrators."},
]

WELCOME_WINDOW_SECONDS = 3600  # WELCOME_MAIL_MAX_PER_ADDRESS counts per hour


def counters_for(settings: Settings) -> CounterStore:
    """Redis when REDIS_URL is set (shared by every process), else this process's memory."""
    if settings.redis_url:
        return RedisCounters(settings.redis_url)
    return MemoryCounters()


def database_for(settings: Settings, *, pool_size: int | None = None) -> Database:
    """The pool the settings describe (DATABASE_URL must be set)."""
    return Database.from_settings(settings, pool_size=pool_size)


def webhook_policy(settings: Settings) -> WebhookPolicy:
    """Production: https URLs on public addresses; development lets local receivers in."""
    allow_private = settings.allow_private_webhook_urls
    return WebhookPolicy(
        require_https=not allow_private,
        guard=AddressGuard(allow_private=allow_private),
        sender=OneShotSender(
            allow_private=allow_private, timeout_seconds=settings.webhook_timeout_seconds
        ),
        seal=SecretSeal(settings.verification_keys()),
    )


def services_for(
    settings: Settings, database: Database, *, counters: CounterStore | None = None
) -> Services:
    """Every use case, composed once; they all run on one store (`use_cases`)."""
    return use_cases(
        settings,
        JoinedTransactions(database),
        database=database,
        counters=counters or counters_for(settings),
    )


def use_cases(
    settings: Settings, store: ScopedStore, *, database: Database, counters: CounterStore
) -> Services:
    """The use cases on `store`, the one store that joins a request's idempotency scope.

    No use case is handed `database`: each declares a `ScopedStore` (mypy refuses the plain
    one), so a write inside an Idempotency-Key's scope always commits with its stored answer
    (domain/idempotency/service.py). `database` is kept for readiness and the pool's metrics.
    """
    keys = settings.verification_keys()
    hasher = PasswordHasher(
        time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib
    )
    codec = AccessTokenCodec(
        keys=keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    clients = ClientService(database=store)
    auth = AuthService(
        database=store,
        hasher=hasher,
        codec=codec,
        throttle=LoginThrottle(
            counters,
            per_account_address=settings.login_max_failures_per_account,
            per_address=settings.login_max_failures_per_address,
            window_seconds=settings.login_failure_window_seconds,
            max_delay_seconds=settings.login_max_delay_seconds,
        ),
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
        clients=clients,
    )
    recovery = PasswordRecovery(
        database=store,
        hasher=hasher,
        throttle=RequestThrottle(
            counters,
            per_account=settings.password_recovery_max_per_account,
            per_address=settings.password_recovery_max_per_address,
            window_seconds=settings.password_recovery_window_seconds,
            prefix="recovery",
            message=TOO_MANY_RECOVERIES,
            refusals=metrics.RECOVERY_THROTTLE_REFUSALS,
        ),
        ttl_seconds=settings.password_reset_ttl_seconds,
        answer_after_seconds=settings.password_recovery_answer_seconds,
    )
    rate = settings.rate
    return Services(
        database=database,
        auth=auth,
        recovery=recovery,
        users=UserService(
            database=store,
            hasher=hasher,
            welcomes=AddressBudget(
                counters,
                per_address=settings.welcome_mail_max_per_address,
                window_seconds=WELCOME_WINDOW_SECONDS,
                prefix="welcome",
            ),
        ),
        items=ItemService(database=store),
        clients=clients,
        idempotency=IdempotencyService(transactions=store, seal=AnswerSeal(keys)),
        rate_limiter=None
        if rate is None
        else RateLimiter(counters, points=rate.points, window_seconds=rate.seconds),
        events=EventService(database=store),
        webhooks=WebhookService(database=store, policy=webhook_policy(settings)),
        subscriptions=SubscriptionService(
            fanout=Fanout(backlog=settings.subscription_backlog),
            auth=auth,
            codec=codec,
            recheck_seconds=settings.subscription_recheck_seconds,
            database=store,
        ),
        requests=RequestLogService(database=store),
    )


def observe(database: Database) -> None:
    """Count each statement for the request that runs it (tandem_db_statements_per_request)."""
    if count_statement not in database.observers:
        database.observers.append(count_statement)


async def serve_worker(settings: Settings, url: str) -> None:
    """The worker `tandem serve` runs beside the app, in its event loop."""
    from tandem.worker.process import worker_for

    async with worker_for(settings, url) as worker:
        await worker.run()


@asynccontextmanager
async def subscription_feed(database: Database, services: Services) -> AsyncIterator[None]:
    """The outbox, read once by this process for its subscribers (tandem/persistence/realtime).

    On the way out, subscribers are sent what committed before, then their sockets
    close with 1001 (going away).
    """
    feed = OutboxFeed(database, services.subscriptions.fanout)
    running = asyncio.create_task(feed.run())
    drain_before_closing(feed.drain)  # on SIGTERM: what committed is sent before the 1001
    try:
        yield
    finally:
        drain_before_closing(None)
        await close_open_sockets()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


@asynccontextmanager
async def writing(request_log: RequestLogWriter | None, database: Database) -> AsyncIterator[None]:
    """The request log written to `database` while the app runs (tandem/persistence/requests)."""
    if request_log is None:
        yield
        return
    async with request_log.running(database):
        yield


# Container objects allocated, net of those freed, before the young generation is collected
# (Python's default is 700). 32 requests in flight hold more than 700 between them, so at
# the default the collector ran every ten requests or so, found nothing (a request leaves
# no cycles: tests/http/test_no_cycles.py) and promoted what it walked: 25 to 45 µs of CPU
# a request under load (docs/performance.md). Garbage in cycles still goes, a little later.
YOUNG_GENERATION_THRESHOLD = 10_000


def settle_start_up_objects() -> None:
    """Move what start-up built (modules, schemas, compiled routes) out of the collector's reach,
    and let the young generation grow past what the requests in flight hold.

    Those objects live as long as the process, yet every full collection would walk
    them all again: measured as the long tail of response times (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


def _finish_document(app: FastAPI) -> None:
    """The OpenAPI document: the Idempotency-Key every POST honours (http/idempotency.py),
    then what every REST operation shares (api/document.py)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            document_idempotency(schema, rest_prefix=API_PREFIX)
            finish_document(schema, rest_prefix=API_PREFIX)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def serve(app: FastAPI, router: APIRouter, *, prefix: str = "") -> None:
    """`router`'s routes, each added to the app's own router under `prefix`.

    FastAPI 0.16x's `include_router` keeps the included router whole: a request is matched
    against each included router in turn (a miss costs a walk of its routes), and the one
    that matches is matched again to find the route. Added here, each route is one of the
    app router's routes, tried once, as `include_router` did before 0.16x: the same route
    class, path, dependencies and OpenAPI declarations (the document is byte for byte the
    same), served by FastAPI's router. `router` must have no lifespan or events of its own.
    """
    assert not router.on_startup and not router.on_shutdown, router
    target = app.router
    for route in router.routes:
        if isinstance(route, APIRoute):
            target.add_api_route(
                prefix + route.path,
                route.endpoint,
                response_model=route.response_model,
                status_code=route.status_code,
                tags=route.tags,
                dependencies=route.dependencies,
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses=route.responses,
                deprecated=route.deprecated,
                methods=route.methods,
                operation_id=route.operation_id,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                include_in_schema=route.include_in_schema,
                response_class=route.response_class,
                name=route.name,
                route_class_override=type(route),
                callbacks=route.callbacks,
                openapi_extra=route.openapi_extra,
                generate_unique_id_function=route.generate_unique_id_function,
                strict_content_type=route.strict_content_type,
                max_body_size=route.max_body_size,
                form_limits=route.form_limits or None,
            )
        elif not prefix and isinstance(route, Route | WebSocketRoute):
            target.routes.append(route)  # its path is already whole
        else:
            raise TypeError(f"serve() takes API routes, or plain routes without a prefix: {route}")


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    request_log: RequestLogWriter | None = None,
) -> FastAPI:
    """Build the app; with no `services`, its lifespan opens (and closes) the database.

    `request_log` replaces the writer REQUEST_LOG makes (a test flushes its own).
    """
    settings = settings or get_settings()
    if request_log is None and settings.request_log:
        request_log = RequestLogWriter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            if isinstance(services.database, Database):
                observe(services.database)
                async with (
                    subscription_feed(services.database, services),
                    writing(request_log, services.database),
                ):
                    yield
                return
            yield
            return
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not set; start Tandem with `tandem serve`.")
        database = database_for(settings)
        observe(database)
        app.state.services = services_for(settings, database)
        background = None
        if settings.serve_worker:  # `tandem serve --no-worker` leaves it to `tandem worker`
            background = asyncio.create_task(serve_worker(settings, settings.database_url))
        settle_start_up_objects()
        try:
            async with (
                sampling_pool(database),
                subscription_feed(database, app.state.services),
                writing(request_log, database),
            ):
                yield
        finally:
            if background is not None:
                background.cancel()
                await asyncio.gather(background, return_exceptions=True)
            await database.dispose()
            metrics.process_exited(os.getpid())

    app = FastAPI(
        title="Tandem",
        version=package_version("tandem"),  # the document's version is the package's
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs and /redoc come from the package's own files (tandem/http/docs_ui), not a CDN.
        docs_url=None,
        redoc_url=None,
        # /openapi.json is each version's document (api/versioning.py), not FastAPI's route.
        openapi_url=None,
        openapi_tags=OPENAPI_TAGS,  # the reading order, whatever order routing wants
        # Tandem's own telemetry times, counts and logs every request (http/telemetry.py),
        # and its traces are the ASGI instrumentation's (observability/tracing.py), in which
        # FastAPI's native telemetry stands aside anyway; off, FastAPI does not ask the
        # OpenTelemetry providers on every request whether they are configured.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    if services is not None:
        app.state.services = services
        if isinstance(services.database, Database):
            observe(services.database)
    install_error_handlers(app)
    # Routing tries routes in order, and each miss costs: the busiest faces come first
    # (measured in docs/performance.md), each route the app router's own (`serve`). Each
    # REST router charges its own calls.
    graphql = TandemGraphQLRouter(settings)
    serve(app, graphql)  # at /graphql (tandem/graphql/router.py)
    for router in (
        items_router,
        users_router,
        auth_router,
        events_router,
        webhooks_router,
        oauth_router,
        recovery_router,
        clients_router,
        requests_router,
    ):
        serve(app, router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(asyncapi_router(lambda: app.openapi()))
    app.include_router(openapi_router(versioned_documents(lambda: app.openapi())))
    app.add_route(
        "/metrics",
        metrics_endpoint(
            token=settings.metrics_token,
            refresh=lambda: record_pool(app.state.services.database),
        ),
        include_in_schema=False,
    )
    app.include_router(
        docs_router(
            development=settings.is_development, rest_prefix=API_PREFIX, reset_path=RESET_PATH
        )
    )
    app.mount(STATIC_PATH, static_files(), name="static")
    _finish_document(app)
    app.add_middleware(
        Idempotency,
        rest_prefix=API_PREFIX,
        graphql_path="/graphql",
        graphql_kind=graphql.operation_kind,
    )
    # Before the Idempotency-Key: a body no route reads borrows and records nothing.
    app.add_middleware(MediaTypes, prefix=API_PREFIX + "/")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "Tandem-Version",
            ],
            # Browsers hide any other header from scripts: the quota and when to retry included.
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "Idempotent-Replayed",
                "Tandem-Version",
                *QUOTA_HEADERS,
            ],
        )
    # Outermost of Tandem's layers: it names and admits every request, sees every answer,
    # and times it; it hands each line to the request log.
    app.add_middleware(
        RequestContext,
        timeout_seconds=settings.request_timeout_seconds,
        versioned_prefix=API_PREFIX + "/",
        request_log=None if request_log is None else request_log.record,
    )
    if tracing.configure(settings):  # OTEL_* asked for traces: a span around each request
        app.add_middleware(tracing.asgi_middleware_class(), exclude_spans=["receive", "send"])
    logging.getLogger("tandem").setLevel(settings.log_level.upper())
    return app
