"""The `tandem` command: serve, migrate, create users, export the contract, seed a demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tandem.config import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from tandem.domain.services import Services

DEMO_PASSWORD = "tandem-demo-password"


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server's `tandem` database (started if need be)."""
    if settings.database_url:
        return settings.database_url
    from tandem.persistence import embedded

    print(f"tandem: no DATABASE_URL; using the embedded PostgreSQL in {settings.data_dir}/pgdata")
    try:
        return embedded.start(settings.data_dir).ensure_database("tandem")
    except embedded.EmbeddedDataError as error:
        print(f"tandem: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def migrate(settings: Settings) -> str:
    from tandem.persistence.migrate import upgrade
    from tandem.persistence.restored import TransactionIdsBehind

    url = database_url(settings)
    try:
        upgrade(url)
    except TransactionIdsBehind as error:
        print(f"tandem: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return url


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from tandem.observability.logs import logging_config
    from tandem.observability.multiprocess import shared_metrics

    url = migrate(settings)
    # Workers are fresh processes that read their settings from the environment.
    os.environ["DATABASE_URL"] = url
    if args.no_worker:
        os.environ["SERVE_WORKER"] = "false"
    get_settings.cache_clear()
    # uvicorn re-raises the SIGTERM it drained on; an orderly drain is a clean exit (0).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with shared_metrics(args.workers):
        uvicorn.run(
            "tandem.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=settings.log_level,
            log_config=logging_config(settings.log_output, settings.log_level),
            access_log=False,  # tandem.request logs each request, without its query string
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            # X-Forwarded-For and -Proto count only from TRUSTED_PROXIES (docs/deploy.md).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            ws="tandem.http.going_away:GoingAwayProtocol",  # subscriptions close with 1001
            http="tandem.http.going_away:GoingAwayHttpProtocol",  # event streams end, drained
        )


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    import logging.config

    from tandem.observability import tracing
    from tandem.observability.logs import logging_config
    from tandem.worker.process import run_worker

    url = migrate(settings)
    logging.config.dictConfig(logging_config(settings.log_output, settings.log_level))
    tracing.configure(settings)  # off unless OTEL_* ask for traces
    if args.metrics_port:
        from tandem.http.metrics import serve_in_thread

        token = settings.metrics_token
        serve_in_thread(host=args.metrics_host, port=args.metrics_port, token=token)
    asyncio.run(run_worker(settings, url))


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    migrate(settings)
    print("tandem: the database is at the newest migration")


def _with_services(settings: Settings, work: Callable[[Services], Awaitable[None]]) -> None:
    """Run `work` against the migrated database, then close it."""
    url = migrate(settings)  # before our loop starts: migrating runs an event loop of its own

    async def run() -> None:
        from tandem.app import database_for, services_for

        database = database_for(settings.model_copy(update={"database_url": url}), pool_size=2)
        try:
            await work(services_for(settings, database))
        finally:
            await database.dispose()

    asyncio.run(run())


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> None:
    from tandem.domain.errors import DomainError
    from tandem.domain.users.commands import RegisterUser

    async def work(services: Services) -> None:
        user = await services.users.register(
            RegisterUser(email=args.email, name=args.name, password=args.password), role=args.role
        )
        print(f"tandem: created {user.role} {user.email} (id {user.id})")

    try:
        _with_services(settings, work)
    except DomainError as error:
        raise SystemExit(f"tandem: {error.message}") from None


def cmd_create_client(args: argparse.Namespace, settings: Settings) -> None:
    from tandem.domain.clients.commands import CreateClient
    from tandem.domain.errors import DomainError
    from tandem.http.versions import NEWEST

    async def work(services: Services) -> None:
        issued = await services.clients.provision(
            CreateClient(
                name=args.name,
                user_id=args.user_id,
                scopes=args.scopes.split(),
                api_version=str(NEWEST),
            )
        )
        client = issued.client
        print(
            f"tandem: created API client {client.name!r} (id {client.id}) for user {client.user_id}"
        )
        print(f"client_id:     {client.client_id}")
        print(f"client_secret: {issued.client_secret}")
        print(f"scopes:        {' '.join(sorted(client.scopes))}")
        print("The secret is shown this once; it is stored hashed.")

    try:
        _with_services(settings, work)
    except DomainError as error:
        raise SystemExit(f"tandem: {error.message}") from None


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> None:
    from tandem.demo import accounts, seed

    async def work(services: Services) -> None:
        seeded = await seed(services, password=DEMO_PASSWORD)
        print(f"tandem: {seeded.summary()}. The demo accounts (role: admin or member):")
        for line in accounts():
            print(f"  {line}")
        print(f"Every demo account's password: {DEMO_PASSWORD}")

    _with_services(settings, work)


def cmd_export_openapi(args: argparse.Namespace, settings: Settings) -> None:
    from tandem.api.versioning import versioned_documents
    from tandem.app import create_app
    from tandem.http.versions import NEWEST, OLDEST, parse

    named = {"newest": NEWEST, "oldest": OLDEST}
    try:
        version = named.get(args.version) or parse(args.version, "--version")
    except ValueError as unknown:
        raise SystemExit(f"tandem: {unknown}") from None
    documents = versioned_documents(create_app(settings).openapi)
    print(json.dumps(documents(version), indent=2, sort_keys=True))


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> None:
    from tandem.graphql.schema import sdl

    print(sdl(), end="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve REST and GraphQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="leave deliveries, mail and purges to `tandem worker`",
    )
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser(
        "worker", help="run the background work alone: webhook deliveries, mail, purges"
    )
    worker.add_argument(
        "--metrics-port", type=int, default=0, help="serve this worker's /metrics on this port"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1")
    worker.set_defaults(handler=cmd_worker)

    commands.add_parser("migrate", help="apply the migrations").set_defaults(handler=cmd_migrate)

    create_user = commands.add_parser("create-user", help="create a user (the first admin, say)")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--name", required=True)
    create_user.add_argument("--password", required=True)
    create_user.add_argument("--role", choices=["admin", "member"], default="member")
    create_user.set_defaults(handler=cmd_create_user)

    create_client = commands.add_parser(
        "create-client", help="create a partner API client; prints its secret once"
    )
    create_client.add_argument("--name", required=True)
    create_client.add_argument("--user-id", type=int, required=True)
    create_client.add_argument(
        "--scopes", required=True, help='space-separated, e.g. "items:read items:write"'
    )
    create_client.set_defaults(handler=cmd_create_client)

    commands.add_parser("seed-demo", help="load demo users and items").set_defaults(
        handler=cmd_seed_demo
    )
    export_openapi = commands.add_parser(
        "export-openapi", help="print the OpenAPI JSON of a dated API version"
    )
    export_openapi.add_argument(
        "--version", default="newest", help="YYYY-MM-DD, newest (the default) or oldest"
    )
    export_openapi.set_defaults(handler=cmd_export_openapi)
    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        handler=cmd_export_schema
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"tandem: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    args.handler(args, settings)


if __name__ == "__main__":
    main()
