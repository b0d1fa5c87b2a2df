"""Typed settings, read once from the environment (and an optional `.env`).

Nothing else in Tandem reads the environment: every module asks `get_settings()`.
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


WINDOWS = {"second": 1, "minute": 60, "hour": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")
# SMTP_TLS as a boolean: on means STARTTLS, off means a plain connection.
SMTP_TLS_BOOLEANS = {"true": "starttls", "false": "none"}


@dataclass(frozen=True)
class Rate:
    """`points` per `seconds`, e.g. 5000/hour."""

    points: int
    seconds: int


def parse_rate(value: str) -> Rate | None:
    """`<n>/second|minute|hour`, or None for `off`; ValueError otherwise."""
    if value.strip().lower() == "off":
        return None
    match = _RATE.match(value)
    if match is None or int(match.group(1)) < 1:
        raise ValueError("must look like 5000/hour (n/second, n/minute, n/hour) or off")
    return Rate(int(match.group(1)), WINDOWS[match.group(2)])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    tandem_env: Literal["development", "production"] = "development"
    database_url: str | None = None
    secret_key: str | None = Field(default=None, min_length=32)
    # Key rotation: the first key signs, every key verifies. Overrides SECRET_KEY when set.
    secret_keys: Annotated[list[str], NoDecode] = []
    data_dir: Path = Path(".tandem")

    jwt_issuer: str = "tandem"
    jwt_audience: str = "tandem-api"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300, le=365 * 86_400)

    cors_origins: Annotated[list[str], NoDecode] = []
    # Addresses or networks of the proxies whose X-Forwarded-For / -Proto Tandem believes
    # (comma-separated, e.g. "10.0.0.0/8,127.0.0.1"); empty: the headers are ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    redis_url: str | None = None
    rate_limit: str = "5000/hour"
    # Sign-in (tandem/domain/auth/throttle.py): failures per (account, address) and per
    # address before 429; across addresses an account is slowed, up to the delay below,
    # never locked.
    login_max_failures_per_account: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=100, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    login_max_delay_seconds: float = Field(default=8.0, gt=0, le=60)
    request_timeout_seconds: float = Field(default=15.0, gt=0, le=600)

    graphql_max_depth: int = Field(default=10, ge=1)
    graphql_max_aliases: int = Field(default=30, ge=0)
    graphql_max_tokens: int = Field(default=2000, ge=10)
    graphql_max_root_fields: int = Field(default=20, ge=1)
    graphql_max_nodes: int = Field(default=50_000, ge=1)
    graphql_max_batch: int = Field(default=10, ge=1, le=100)
    # A manifest {"<sha256>": "<document>"} a client may name by hash (tandem/graphql/trusted.py);
    # with GRAPHQL_TRUSTED_ONLY, the only documents this server runs.
    graphql_trusted_documents: Path | None = None
    graphql_trusted_only: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Unset: JSON lines in production, readable text in development.
    log_format: Literal["json", "text"] | None = None
    metrics_token: str | None = Field(default=None, min_length=16)
    shutdown_grace_seconds: int = Field(default=20, ge=0, le=3600)
    # The request log (GET /api/v1/requests): each signed-in caller's requests, kept 7 days.
    request_log: bool = True

    db_pool_size: int = Field(default=20, ge=1, le=500)
    # Streaming replicas for reads (tandem/persistence/replicas.py), comma-separated; a replica
    # further behind than the lag below is skipped.
    database_replica_urls: Annotated[list[str], NoDecode] = []
    database_replica_max_lag_seconds: float = Field(default=2.0, gt=0, le=3600)
    # Past these, a request answers 503 (UNAVAILABLE) instead of waiting out its wall clock.
    db_acquire_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    db_statement_timeout_seconds: float = Field(default=10.0, ge=0, le=3600)
    db_lock_timeout_seconds: float = Field(default=3.0, ge=0, le=3600)
    # A search (`q`) is stopped sooner than other statements: 503 UNAVAILABLE, in words.
    db_search_timeout_seconds: float = Field(default=2.0, ge=0, le=3600)
    db_idle_in_transaction_timeout_seconds: float = Field(default=30.0, ge=0, le=3600)
    # asyncpg's prepared-statement cache per connection; 0 behind PgBouncer < 1.21 in
    # transaction mode (docs/deploy.md).
    db_statement_cache_size: int = Field(default=100, ge=0, le=10_000)

    # Webhooks and the worker (tandem/worker, tandem/domain/webhooks/schedule.py).
    webhook_retry_schedule: str | None = None  # e.g. "1s,5s,30s,5m"; default: the contract's
    webhook_allow_private_urls: bool | None = None  # default: true in development only
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    webhook_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    webhook_concurrency: int = Field(default=16, ge=1, le=500)
    # Deliveries in flight to one endpoint, across all workers: a slow or hanging receiver
    # holds at most this many, never a whole worker (tandem/persistence/webhooks/queue.py).
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, le=500)
    worker_poll_seconds: float = Field(default=5.0, gt=0, le=300)
    serve_worker: bool = True  # `tandem serve` runs a worker too (`--no-worker` sets false)
    event_retention_days: int = Field(default=30, ge=30, le=3650)
    # Subscriptions (tandem/domain/realtime): per connection, how far behind, how often the
    # token is checked again while a subscription runs.
    subscriptions_per_connection: int = Field(default=20, ge=1, le=1000)
    subscription_backlog: int = Field(default=1000, ge=1, le=100_000)
    subscription_recheck_seconds: float = Field(default=10.0, gt=0, le=3600)
    # WebSockets (tandem/graphql/sockets.py): how many may be open from one address, and how
    # long one may wait before its connection_init (then it closes, 4408).
    sockets_per_address: int = Field(default=50, ge=1, le=100_000)
    socket_init_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Mail (tandem/outbound/mail, tandem/worker/mail.py): SMTP when SMTP_HOST is set, else
    # .eml files under DATA_DIR/mail. SMTP_TLS: starttls (port 587 by default), tls
    # (implicit TLS, 465) or none (25); true/false (as the FastAPI template writes it) mean
    # starttls/none. SMTP_USER and SMTP_PASSWORD go together.
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65_535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    mail_from: str | None = None
    mail_retry_schedule: str | None = None  # e.g. "1s,5s,30s,5m"; default: the webhooks'
    mail_concurrency: int = Field(default=4, ge=1, le=100)
    mail_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    password_reset_ttl_seconds: int = Field(default=3600, ge=60, le=3600)
    password_recovery_max_per_account: int = Field(default=5, ge=1)
    password_recovery_max_per_address: int = Field(default=20, ge=1)
    password_recovery_window_seconds: int = Field(default=3600, ge=1)
    # A recovery request answers this long after it began, whether the email is known or
    # not (tandem/domain/auth/recovery.py): no timing tells them apart.
    password_recovery_answer_seconds: float = Field(default=0.25, ge=0, le=5)
    # Welcome mails per client address per hour; past it an account is made without one.
    welcome_mail_max_per_address: int = Field(default=10, ge=1)
    password_hash_time_cost: int = Field(default=3, ge=1, le=10)
    password_hash_memory_kib: int = Field(default=65_536, ge=1_024, le=1_048_576)

    # Traces (tandem/observability/tracing.py): OpenTelemetry's standard variables. Off
    # unless an OTLP endpoint is set; OTLP over HTTP (protobuf) only. The SDK reads its other
    # standard variables itself (OTEL_TRACES_SAMPLER and _ARG, OTEL_EXPORTER_OTLP_HEADERS,
    # OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*, OTEL_PROPAGATORS).
    otel_exporter_otlp_endpoint: str | None = None  # http://collector:4318 (+ /v1/traces)
    otel_exporter_otlp_traces_endpoint: str | None = None  # the whole URL, as is
    otel_exporter_otlp_protocol: Literal["http/protobuf"] = "http/protobuf"
    otel_exporter_otlp_traces_protocol: Literal["http/protobuf"] | None = None
    otel_traces_exporter: Literal["otlp", "none"] = "otlp"
    otel_sdk_disabled: bool = False
    otel_service_name: str = "tandem"

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must start with postgresql:// or postgresql+asyncpg://")
        return value

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_replica_urls(cls, value: object) -> object:
        if isinstance(value, str):
            value = [url.strip() for url in value.split(",") if url.strip()]
        if isinstance(value, list):
            return [cls._normalise_database_url(url) for url in value]
        return value

    @field_validator("rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL, e.g. https://tandem.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must have no query or fragment")
        return value.strip().rstrip("/")

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        _, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError("must be an address, e.g. Tandem <no-reply@example.com>")
        return value.strip()

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _smtp_tls_as_boolean(cls, value: object) -> object:
        """`true`/`false` too: STARTTLS or none (a bare boolean says nothing of implicit TLS)."""
        if isinstance(value, bool):
            return "starttls" if value else "none"
        if isinstance(value, str):
            spelt = value.strip().lower()
            return SMTP_TLS_BOOLEANS.get(spelt, spelt)
        return value

    @field_validator("smtp_host", "smtp_user")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _smtp_is_complete(self) -> Settings:
        if self.smtp_host is None:
            return self
        if self.mail_from is None:
            raise ValueError("MAIL_FROM is required when SMTP_HOST is set")
        if (self.smtp_user is None) != (self.smtp_password is None):
            raise ValueError("SMTP_USER and SMTP_PASSWORD must be set together")
        if self.mail_lease_seconds <= self.smtp_timeout_seconds:
            raise ValueError("MAIL_LEASE_SECONDS must exceed SMTP_TIMEOUT_SECONDS")
        return self

    @field_validator("webhook_retry_schedule", "mail_retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            from tandem.domain.webhooks.schedule import parse_schedule

            parse_schedule(value)
            return value
        return None

    @model_validator(mode="after")
    def _a_slowed_sign_in_ends_in_time(self) -> Settings:
        if self.login_max_delay_seconds >= self.request_timeout_seconds:
            raise ValueError("LOGIN_MAX_DELAY_SECONDS must be less than REQUEST_TIMEOUT_SECONDS")
        return self

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("WEBHOOK_LEASE_SECONDS must exceed WEBHOOK_TIMEOUT_SECONDS")
        return self

    @field_validator("secret_keys")
    @classmethod
    def _check_keys(cls, value: list[str]) -> list[str]:
        if any(len(key) < 32 for key in value):
            raise ValueError("every key must be at least 32 characters")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        """uvicorn would take a mistyped address as a literal that never matches: refuse it."""
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry[:60]!r} is not an IP address or network") from None
        return value

    @field_validator("cors_origins", "secret_keys", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _allow_list_needs_a_manifest(self) -> Settings:
        if self.graphql_trusted_only and self.graphql_trusted_documents is None:
            raise ValueError("GRAPHQL_TRUSTED_ONLY needs GRAPHQL_TRUSTED_DOCUMENTS (a manifest)")
        return self

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.tandem_env == "production" and not (self.secret_key or self.secret_keys):
            raise ValueError("SECRET_KEY is required when TANDEM_ENV=production")
        return self

    @model_validator(mode="after")
    def _production_protects_what_it_exposes(self) -> Settings:
        """Production refuses what would expose it: a guessable key, any origin, plain-http
        links, open metrics, reset tokens written to files. One line each."""
        if self.tandem_env != "production":
            return self
        keys = [("SECRET_KEYS", key) for key in self.secret_keys] or [
            ("SECRET_KEY", self.secret_key or "")
        ]
        for name, key in keys:
            problem = guessable(key)
            if problem:
                raise ValueError(f"{name}: {problem}; {GOOD_KEY}")
        wildcard = [
            origin for origin in self.cors_origins if origin.strip().lower() in ("*", "null")
        ]
        if wildcard:
            raise ValueError(
                f"CORS_ORIGINS: {wildcard[0]!r} lets any page call Tandem with its visitors'"
                " tokens; list your sites' origins, e.g. https://app.example.com"
            )
        if urlsplit(self.public_url).scheme != "https":
            raise ValueError(
                "PUBLIC_URL: must be https:// in production (reset links carry a token),"
                " e.g. https://tandem.example.com"
            )
        if self.metrics_token is None:
            raise ValueError(
                "METRICS_TOKEN is required when TANDEM_ENV=production (16+ random characters):"
                " /metrics is served only behind it"
            )
        if self.smtp_host is None:
            raise ValueError(
                "SMTP_HOST is required when TANDEM_ENV=production: mail (reset links) is"
                " never written to files there"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.tandem_env == "development"

    @property
    def log_output(self) -> Literal["json", "text"]:
        if self.log_format is not None:
            return self.log_format
        return "text" if self.is_development else "json"

    @property
    def allow_private_webhook_urls(self) -> bool:
        if self.webhook_allow_private_urls is None:
            return self.is_development
        return self.webhook_allow_private_urls

    @property
    def smtp_port_or_default(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"tls": 465, "starttls": 587, "none": 25}[self.smtp_tls]

    @property
    def mail_sender(self) -> str:
        """MAIL_FROM, or in .eml mode a placeholder nobody can reply to."""
        return self.mail_from or "Tandem <no-reply@localhost>"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def rate(self) -> Rate | None:
        return parse_rate(self.rate_limit)

    def verification_keys(self) -> list[str]:
        """Every key a token may be signed with; the first is the one that signs."""
        return self.secret_keys or [self.signing_key()]

    def signing_key(self) -> str:
        """The JWT key: SECRET_KEY, or in development one generated once and kept on disk."""
        if self.secret_keys:
            return self.secret_keys[0]
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


# Placeholders people leave in: a key holding one is guessed first.
PLACEHOLDERS = (
    "change",
    "secret",
    "password",
    "passwd",
    "example",
    "placeholder",
    "replace",
    "sample",
    "default",
    "insecure",
    "dummy",
)
MIN_DISTINCT_CHARACTERS = 10  # a 32-character hex key has about 14; `aaaa…` has 1
GOOD_KEY = (
    "a good key is 32 or more random characters, e.g. the output of"
    " python -c 'import secrets; print(secrets.token_urlsafe(48))'"
)


def guessable(key: str) -> str | None:
    """Why a signing key is guessable (too few distinct characters, a repeated pattern or a
    run, a known placeholder), or None."""
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"it has only {len(set(key))} distinct characters"
    for period in range(1, len(key) // 2 + 1):
        if key[period:] == key[:-period]:
            return f"it repeats a pattern of {period} characters"
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(key)]
    if sum(step in (-1, 0, 1) for step in steps) * 2 > len(steps):
        return "it is mostly runs of neighbouring characters (abcd…, 1234…)"
    letters = "".join(c for c in key.lower() if c.isalnum())
    for word in PLACEHOLDERS:
        if word in letters:
            return f"it contains the placeholder word {word!r}"
    return None


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]).upper() or "settings"
    message = first["msg"].removeprefix("Value error, ")
    if not first["loc"]:
        return message
    return f"{name}: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; a bad value raises SettingsError naming it."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None
