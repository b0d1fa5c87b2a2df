"""The two contracts under fuzz, as the app publishes them, and how hard to fuzz them.

Schemathesis needs the operations when pytest collects the tests, before any fixture
(and so before the per-run database) exists. The documents are the ones the app
serves: `create_app(...).openapi()` is what `GET /openapi.json` and `tandem
export-openapi` answer, and the SDL is what `tandem export-schema` prints and
introspection of `/graphql` describes (test_documents.py holds both to that).
Every case is sent in-process, over ASGI, to the app the `fuzz_app` fixture binds.

Two depths, both seeded so every run sends the same requests:
- deep, for the callers who reach the domain (a member, an admin): schemathesis'
  coverage phase (boundary values, each constraint broken in turn, undeclared
  methods) and then MAX_EXAMPLES random cases per operation;
- light, for callers the guard or the rate limiter turns away before the domain
  (anonymous, a forged token, a spent budget): a few random cases per operation.
"""

from __future__ import annotations

from typing import Any

import graphql as graphql_core
import schemathesis
from schemathesis.config import SchemathesisConfig
from starlette.types import ASGIApp, Receive, Scope, Send

from tandem.app import create_app
from tandem.config import Settings
from tandem.graphql.schema import sdl

MAX_EXAMPLES = 25
LIGHT_MAX_EXAMPLES = 5
SEED = 20_260_101


def config(*, light: bool, security_parameters: bool, **checks: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": LIGHT_MAX_EXAMPLES if light else MAX_EXAMPLES,
                "deterministic": True,
                # No .hypothesis/ folder in the work tree, and no replay of earlier failures.
                "database": "none",
                # A failure is reported as found, with its curl line: shrinking it could take
                # minutes of requests.
                "no-shrink": True,
                # False when the test sends a token of its own: a generated one would replace it.
                "with-security-parameters": security_parameters,
            },
            "phases": {"coverage": {"enabled": not light}},
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "checks": {
                **{name: {"enabled": enabled} for name, enabled in checks.items()},
                **({} if "positive_data_acceptance" in checks else POSITIVE),
            },
            "operations": [] if "positive_data_acceptance" in checks else CREDENTIAL_USES,
        }
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(secret_key="fuzz-" + "k" * 40, database_url=None)
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def graphql_introspection() -> dict[str, Any]:
    return graphql_core.introspection_from_schema(graphql_core.build_schema(sdl()))


class LateBoundApp:
    """The ASGI app schemathesis calls: it forwards everything to the app `fuzz_app` binds."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("No app under fuzz: the test must use the `fuzz_app` fixture.")
        await self.app(scope, receive, send)


target = LateBoundApp()

# Every check, positive data acceptance included: a schema-valid request is accepted. Values
# only the server's state makes right are settled per case (state_bound.py); a stale
# If-Match is state too, so 412 joins schemathesis' default statuses (which already allow
# 404 and 409 for the same reason).
REST_CHECKS: dict[str, bool] = {}
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]
POSITIVE = {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}}
# Schema-valid requests the domain still refuses with a documented 422:
# - a password-reset token is a credential only the server issues, as a token endpoint's
#   grants are (which schemathesis itself exempts): a made-up one is refused;
# - a replay's `until` must come after its `since`, a rule across two fields that JSON
#   Schema cannot state.
CREDENTIAL_USES = [
    {
        "include-path": path,
        "checks": {"positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "422"]}},
    }
    for path in ("/api/v1/auth/reset-password", "/api/v1/webhooks/{webhook_id}/replay")
]
# Domain errors (NOT_FOUND, FORBIDDEN, ...) carry a `path`, which schemathesis' generic GraphQL
# checks read as a server failure, and domain rules refuse some schema-valid input (an empty
# title): `graphql_answers_with_codes` judges every error by its code instead.
GRAPHQL_CHECKS = {"not_a_server_error": False, "positive_data_acceptance": False}


def rest(*, light: bool, security_parameters: bool = False) -> schemathesis.BaseSchema:
    document = openapi_document()
    checks = config(light=light, security_parameters=security_parameters, **REST_CHECKS)
    schema = schemathesis.openapi.from_dict(document, config=checks)
    schema.app = target  # before any operation is cloned from it: every case calls `target`
    return schema  # OpenAPI leaves out /graphql: it is fuzzed from its own schema, below


def graphql(*, light: bool) -> schemathesis.BaseSchema:
    checks = config(light=light, security_parameters=False, **GRAPHQL_CHECKS)
    schema = schemathesis.graphql.from_dict(graphql_introspection(), config=checks)
    schema.app = target
    schema.location = "/graphql"  # where queries go, as `schemathesis.graphql.from_asgi` sets it
    return schema


# With security parameters, schemathesis sends made-up bearer tokens, or none.
rest_anonymous = rest(light=True, security_parameters=True)
rest_signed_in = rest(light=False)
rest_turned_away = rest(light=True)
graphql_signed_in = graphql(light=False)
graphql_turned_away = graphql(light=True)
