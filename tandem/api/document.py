"""The last touches of the REST face's OpenAPI document, for what holds across routes.

FastAPI writes each route's own part; what every operation shares is said once here:
the problem schemas the routes' `responses` name, `X-Request-ID` on every answer, the
rate-limit headers wherever the REST call charge applies, public routes without a
security requirement, readable names for enum members that are not identifiers, and
the `webhooks` an endpoint receives (api/webhooks_document.py).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from pydantic.json_schema import models_json_schema

from tandem.api.auth.schemas import OAuthErrorBody
from tandem.api.responses_doc import ANONYMOUS, header
from tandem.api.schemas import Problem, ValidationProblem
from tandem.api.webhooks_document import add_webhooks
from tandem.domain.auth.scopes import (
    ITEMS_READ,
    ITEMS_WRITE,
    USERS_READ,
    USERS_WRITE,
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
)
from tandem.domain.events.records import EventType
from tandem.domain.items.records import ItemSort
from tandem.http.versions import HEADER, NEWEST, VERSIONS

REQUEST_ID = header("This request's id (an incoming sane one is echoed)", required=True)
RATE_LIMIT = {
    "X-RateLimit-Limit": header("Points per window", {"type": "integer"}),
    "X-RateLimit-Remaining": header("Points left in this window", {"type": "integer"}),
    "X-RateLimit-Used": header("Points spent in this window", {"type": "integer"}),
    "X-RateLimit-Reset": header("When the window resets (unix seconds)", {"type": "integer"}),
}
# Enums whose values are not identifiers (generated clients would name them VALUE_1, ...):
# the domain's own member names; other enums' names are spelt from their values.
NAMED_ENUMS: tuple[type[Enum], ...] = (ItemSort, EventType)
SPELT = {"*": "ALL"}
OAUTH2 = "OAuth2"
VERSION = header(
    "The dated API version that served this answer: the request's `Tandem-Version`, else "
    "the calling client's pinned version, else the newest",
    {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    required=True,
)
VERSIONS_NOTE = (
    "\n\n**Versions.** Send `Tandem-Version: YYYY-MM-DD` to be served a dated version; "
    "without it, a partner client's pinned version (`api_version`), else the newest. "
    "Every answer under the REST prefix names its version in the same header; an unknown "
    "one is `400 UNKNOWN_VERSION`. This document describes the version in its "
    "`info.x-tandem-version`; `/openapi.json?version=` gives another. Versions: {versions}."
)


SCOPES = {
    ITEMS_READ: "Read items and events",
    ITEMS_WRITE: "Create, change and delete your items",
    USERS_READ: "Read users",
    USERS_WRITE: "Change your account; administrators: anyone's",
    WEBHOOKS_READ: "See your webhook endpoints and their deliveries",
    WEBHOOKS_WRITE: "Register, change, delete and test your webhook endpoints",
}


def oauth2_scheme(token_url: str) -> dict[str, Any]:
    """How tokens are had: the token endpoint's two flows, for OAuth tools and Swagger UI.

    Operations ask for the bearer token itself (`HTTPBearer`), whichever flow issued it, or
    for this scheme: Swagger UI's Authorize sends a token only to the operations that list
    the scheme it was had by.
    """
    return {
        "type": "oauth2",
        "description": "The token endpoint (RFC 6749); send what it issues as a bearer token.",
        "flows": {
            "password": {"tokenUrl": token_url, "scopes": SCOPES},
            "clientCredentials": {"tokenUrl": token_url, "scopes": SCOPES},
        },
    }


def finish(document: dict[str, Any], *, rest_prefix: str) -> None:
    """Complete `document` in place (FastAPI caches it, so this runs once per app)."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[OAUTH2] = oauth2_scheme(
        rest_prefix + "/auth/token"
    )
    schemas = components.setdefault("schemas", {})
    _, defs = models_json_schema(
        [(model, "validation") for model in (Problem, ValidationProblem, OAuthErrorBody)],
        ref_template="#/components/schemas/{model}",
    )
    schemas.update(defs["$defs"])
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, which Tandem never sends
        schemas.pop(name, None)
    for enum in NAMED_ENUMS:
        if enum.__name__ in schemas:
            schemas[enum.__name__]["x-enum-varnames"] = [member.name for member in enum]
    _name_enum_members(document)
    add_webhooks(document)
    info = document.setdefault("info", {})
    info["x-tandem-version"] = str(NEWEST)  # api/versioning.py writes an older one's
    info["description"] = info.get("description", "") + VERSIONS_NOTE.format(
        versions=", ".join(VERSIONS)
    )
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            charged = path.startswith(rest_prefix + "/")
            responses = operation.get("responses", {})
            if _is_fastapis(responses.get("422")):  # a route whose 422 is not ours gives none
                del responses["422"]
            for response in responses.values():
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = REQUEST_ID
                if charged:
                    headers.update({k: v for k, v in RATE_LIMIT.items() if k not in headers})
                    headers[HEADER] = VERSION
            requirements = operation.get("security")
            if requirements and not any(OAUTH2 in requirement for requirement in requirements):
                operation["security"] = [*requirements, {OAUTH2: []}]
            if operation.pop(ANONYMOUS, False):
                # No requirement at all: generators (openapi-python-client) read any listed
                # requirement, `{}` among them or not, as "needs an authenticated client".
                operation["security"] = []


def _name_enum_members(node: Any) -> None:
    """`x-enum-varnames` for every string enum with a value that is not an identifier."""
    if isinstance(node, dict):
        values = node.get("enum")
        if (
            isinstance(values, list)
            and "x-enum-varnames" not in node
            and all(isinstance(v, str) for v in values)
            and not all(v.isidentifier() for v in values)
        ):
            node["x-enum-varnames"] = [_varname(v) for v in values]
        for child in node.values():
            _name_enum_members(child)
    elif isinstance(node, list):
        for child in node:
            _name_enum_members(child)


def _varname(value: str) -> str:
    """An identifier for an enum value: `2026-12-07` is `V2026_12_07`, `*` is `ALL`."""
    name = SPELT.get(value) or re.sub(r"\W+", "_", value).strip("_").upper()
    return "V" + name if name[:1].isdigit() else name


def _is_fastapis(response: dict[str, Any] | None) -> bool:
    """Whether a 422 is the one FastAPI adds to a route that named no 422 of its own."""
    content = (response or {}).get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"))
