"""Dated API versions on the REST face: the `api_version` fields, the version a request
is served in (its admission's, tandem/http/admission.py), and each version's OpenAPI
document at `/openapi.json?version=`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from tandem.domain.errors import ValidationFailed
from tandem.domain.wording import one_of
from tandem.http.admission import admission_of
from tandem.http.problems import problem
from tandem.http.versions import HEADER, NEWEST, VERSIONS, ApiVersion, UnknownVersion, parse
from tandem.http.versions.changes import Document
from tandem.http.versions.render import openapi_in

PINNED = (
    "The dated API version (`Tandem-Version`) this is pinned to: the newest when created; "
    "requests that name none are served in it"
)
ApiVersionText = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=[str(NEWEST)], description=PINNED)
]
# What a request may pin: a version served now (an older pin than the stored one is 422).
ApiVersionIn = Annotated[
    str,
    Field(
        examples=[str(NEWEST)],
        description="A dated API version served now; a pin only moves forward",
        json_schema_extra={"enum": [str(v) for v in VERSIONS]},
    ),
]


def known_version(text: str) -> str:
    """`text` if it names a supported version; else 422 on `api_version`, listing them."""
    try:
        return str(parse(text))
    except UnknownVersion:
        raise ValidationFailed.one(
            ("body", "api_version"), one_of([str(v) for v in VERSIONS]), "enum"
        ) from None


def served_version(connection: HTTPConnection) -> ApiVersion:
    """The version serving this request (after its guard found the caller)."""
    return admission_of(connection).version


OPENAPI_URL = "/openapi.json"


def versioned_documents(newest: Callable[[], dict[str, Any]]) -> Callable[[ApiVersion], Document]:
    """The OpenAPI document of each version, from the app's (the newest), built once each."""
    built: dict[ApiVersion, Document] = {}

    def document(version: ApiVersion) -> Document:
        found = built.get(version)
        if found is None:
            found = openapi_in(version, newest())
            found["info"] = {**found.get("info", {}), "x-tandem-version": str(version)}
            built[version] = found
        return found

    return document


def openapi_router(document: Callable[[ApiVersion], Document]) -> APIRouter:
    """`GET /openapi.json`: the newest version's document, or the one `?version=` or the
    `Tandem-Version` header names (400 for one not served)."""
    router = APIRouter(include_in_schema=False)

    @router.get(OPENAPI_URL)
    async def openapi(request: Request) -> Response:
        admission = admission_of(request)
        asked = request.query_params.get("version")
        try:
            if asked is not None:
                version = parse(asked, "?version=")
            elif admission.version_refused is not None:
                raise UnknownVersion(request.headers.get(HEADER, ""))
            else:
                version = admission.requested_version or NEWEST
        except UnknownVersion as unknown:
            return problem(request, status=400, detail=str(unknown), code="UNKNOWN_VERSION")
        return JSONResponse(document(version), headers={HEADER: str(version)})

    return router
