"""Every Prometheus metric Tandem exposes at `/metrics`, defined once, importable from any layer.

This module imports nothing else from Tandem, so the domain, persistence, the faces
and the workers may all count here without depending on one another.

Conventions (https://prometheus.io/docs/practices/naming/): names start `tandem_`,
carry their unit (`_seconds`, `_bytes`), counters end `_total` (the client adds it to
the name given here), and labels have a small, bounded set of values: a route
template, never a raw path; an outcome, never an error message or an id.

Under `tandem serve --workers N` every process writes its values to files in
`PROMETHEUS_MULTIPROC_DIR` and a scrape of any process reads them all
(prometheus_client's multiprocess mode). A Gauge must therefore say how the
processes' values combine: `livesum` (sum over live processes) fits nearly
everything; `max`/`min` fit a lag or an age. Adding one: define it below, in the
section of its feature, with a one-line help text.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

_BEFORE_COLLECT: list[Callable[[], None]] = []


def before_collect(settle: Callable[[], None]) -> None:
    """Run `settle` before every collection: it writes values kept aside into the metrics
    (tandem/observability/request_metrics.py)."""
    _BEFORE_COLLECT.append(settle)


def settle() -> None:
    for hook in _BEFORE_COLLECT:
        hook()


class _Settle:
    """Registered before every metric below, so any read of the default registry (the
    scrape, `REGISTRY.get_sample_value`) finds the kept-aside values written first."""

    def describe(self) -> list[object]:
        return []

    def collect(self) -> list[object]:
        settle()
        return []


REGISTRY.register(_Settle())  # type: ignore[arg-type]

# Tandem's fast paths answer in about a millisecond: the default buckets start too high.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100)

# --- HTTP, both faces ---------------------------------------------------------------------

HTTP_REQUEST_DURATION = Histogram(
    "tandem_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code.",
    ["method", "route", "code"],
    buckets=DURATION_BUCKETS,
)
HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "tandem_http_requests_in_flight",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)
GRAPHQL_REQUEST_DURATION = Histogram(
    "tandem_graphql_request_duration_seconds",
    "Time to answer a GraphQL request over HTTP, by operation name and type.",
    ["operation_name", "operation_type"],
    buckets=DURATION_BUCKETS,
)
GRAPHQL_PLAN_DECLINES = Counter(
    "tandem_graphql_plan_declines",
    "GraphQL root fields graphql-core completed instead of the plan, by reason.",
    ["reason"],  # defer, fragment_variables, middleware, field_error, ...
)
RATE_LIMIT_REFUSALS = Counter(
    "tandem_rate_limit_refusals",
    "Requests refused because the caller's rate-limit budget was spent (429).",
)
LOGIN_THROTTLE_REFUSALS = Counter(
    "tandem_login_throttle_refusals",
    "Sign-ins refused by the failed-login throttle (429), by what was throttled.",
    ["scope"],  # account_address, address
)
LOGIN_THROTTLE_DELAYS = Counter(
    "tandem_login_throttle_delays",
    "Sign-in attempts slowed because their account had many failures across addresses.",
)
RECOVERY_THROTTLE_REFUSALS = Counter(
    "tandem_password_recovery_throttle_refusals",
    "Password-recovery requests refused by its throttle (429), by what was throttled.",
    ["scope"],  # account, address
)

# --- Database -----------------------------------------------------------------------------

DB_STATEMENTS_PER_REQUEST = Histogram(
    "tandem_db_statements_per_request",
    "SQL statements one HTTP request ran, by face (rest, graphql, other).",
    ["face"],
    buckets=STATEMENT_BUCKETS,
)
DB_POOL_CONNECTIONS = Gauge(
    "tandem_db_pool_connections",
    "Connections the database pools hold open (busy or idle).",
    multiprocess_mode="livesum",
)
DB_POOL_CONNECTIONS_IN_USE = Gauge(
    "tandem_db_pool_connections_in_use",
    "Pooled connections lent out now.",
    multiprocess_mode="livesum",
)
DB_POOL_MAX_CONNECTIONS = Gauge(
    "tandem_db_pool_max_connections",
    "The most connections the pools may open.",
    multiprocess_mode="livesum",
)

# Read replicas (tandem/persistence/replicas.py): where reads that may use one went, and why.
DB_ROUTED_READS = Counter(
    "tandem_db_routed_reads",
    "Reads of read-only requests by where they ran: target replica, or primary with the reason "
    "(behind: no healthy replica has replayed the caller's last write; unhealthy: no replica "
    "is up and within DATABASE_REPLICA_MAX_LAG_SECONDS; fallback: a replica failed mid-read).",
    ["target", "reason"],
)
DB_REPLICA_LAG = Gauge(
    "tandem_db_replica_lag_seconds",
    "How far a replica's replay is behind the primary, as this process last measured it.",
    ["replica"],
    multiprocess_mode="livemax",
)
DB_REPLICA_UP = Gauge(
    "tandem_db_replica_up",
    "1 while a replica answers and is within DATABASE_REPLICA_MAX_LAG_SECONDS, else 0.",
    ["replica"],
    multiprocess_mode="livemin",
)

# --- Background work (webhooks, outbox, mail) and subscriptions: add yours below. ---------

WEBHOOK_ATTEMPTS = Counter(
    "tandem_webhook_attempts",
    "Webhook delivery attempts, by outcome (success, http_error, no_answer, refused).",
    ["outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "tandem_webhook_deliveries",
    "Webhook deliveries finished, by outcome (succeeded; failed: retries spent, endpoint off).",
    ["outcome"],
)
WEBHOOK_ATTEMPTS_PER_DELIVERY = Histogram(
    "tandem_webhook_attempts_per_delivery",
    "Attempts a finished webhook delivery took.",
    buckets=(1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40),
)
WEBHOOK_DELIVERY_DURATION = Histogram(
    "tandem_webhook_attempt_duration_seconds",
    "Time one webhook attempt took, the receiver's answer included.",
    buckets=(*DURATION_BUCKETS, 15.0),
)
OUTBOX_LAG = Gauge(
    "tandem_outbox_lag_seconds",
    "Age of the oldest event with a webhook delivery still waiting (0 when none), per worker.",
    multiprocess_mode="livemax",
)

MAIL_DELIVERIES = Counter(
    "tandem_mail_deliveries",
    "Mail send attempts, by outcome (sent, retrying, failed: given up, expired: link too old).",
    ["outcome"],
)
MAIL_SEND_DURATION = Histogram(
    "tandem_mail_send_duration_seconds",
    "Time one mail took to hand over (the SMTP conversation, or writing its file).",
    buckets=(*DURATION_BUCKETS, 15.0, 30.0),
)

# --- Subscriptions (tandem/domain/realtime, tandem/persistence/realtime) ---------------------

LIVE_SUBSCRIPTIONS = Gauge(
    "tandem_subscriptions_live",
    "GraphQL subscriptions open now (WebSocket and Server-Sent Events).",
    multiprocess_mode="livesum",
)
SUBSCRIPTION_EVENTS = Counter(
    "tandem_subscription_events_fanned_out",
    "Events handed to subscribers (one per event and subscriber that may see it).",
)
SLOW_SUBSCRIBER_DISCONNECTS = Counter(
    "tandem_subscription_slow_disconnects",
    "Subscriptions ended because they fell more than the backlog behind.",
)
SUBSCRIPTION_FEED_READS = Counter(
    "tandem_subscription_feed_events_read",
    "Events this process read from the outbox for its subscribers (once each, however many).",
)


# --- The request log (tandem/persistence/requests) -----------------------------------------

REQUEST_LOG_DROPPED = Counter(
    "tandem_request_log_dropped",
    "Request log lines not kept because the buffer was full (the database slow or down).",
)


def multiprocess_dir() -> Path | None:
    """The shared directory of multiprocess mode, or None when this process counts alone.

    prometheus_client itself chose its storage from this variable when it was imported.
    """
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def exposition(accept: str = "") -> tuple[bytes, str]:
    """Every metric, summed over every process of this server, in the format `accept` asks.

    Prometheus' text format unless the scraper asks for OpenMetrics.
    """
    encode, content_type = choose_encoder(accept)
    settle()  # this process's pending values; other workers' settle once a second
    directory = multiprocess_dir()
    if directory is None:
        return encode(REGISTRY), content_type
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return encode(registry), content_type


def process_exited(pid: int) -> None:
    """Drop a finished process's live gauges (its counters and histograms still count)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
