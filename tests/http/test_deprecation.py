"""A deprecated REST route says so in its document and on every answer (RFC 9745, RFC 8594).

No Tandem route is deprecated today, so the mechanism is tried on an app built here
with Tandem's own middleware and error handlers, as `create_app` assembles them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.responses import JSONResponse

from tandem.domain.errors import NotFound
from tandem.http.deprecation import deprecated
from tandem.http.errors import install_error_handlers
from tandem.http.middleware import RequestContext

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
SUNSET = datetime(2026, 7, 1, tzinfo=UTC)
GUIDE = "https://tandem.example/docs/migrating-to-v2"


def build_app() -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.get("/old-things", **deprecated(since=SINCE, sunset=SUNSET, link=GUIDE))
    async def old_things() -> JSONResponse:
        return JSONResponse({"things": []})

    @router.get("/old-things/{thing_id}", **deprecated(since=SINCE))
    async def old_thing(thing_id: int) -> JSONResponse:
        raise NotFound.missing("thing", thing_id)

    @router.get("/things")
    async def things() -> JSONResponse:
        return JSONResponse({"things": []})

    app.include_router(router, prefix="/api/v1")
    install_error_handlers(app)
    app.add_middleware(RequestContext)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_deprecated_route_answers_deprecation_sunset_and_link(client):
    response = await client.get("/api/v1/old-things")
    assert response.status_code == 200
    assert response.headers["deprecation"] == f"@{int(SINCE.timestamp())}"  # RFC 9745 §2
    assert response.headers["sunset"] == "Wed, 01 Jul 2026 00:00:00 GMT"  # an HTTP-date
    assert parsedate_to_datetime(response.headers["sunset"]) == SUNSET
    assert response.headers["link"] == f'<{GUIDE}>; rel="deprecation"; type="text/html"'


async def test_an_error_from_a_deprecated_route_says_so_too(client):
    response = await client.get("/api/v1/old-things/7")
    assert response.status_code == 404
    assert response.json()["detail"] == "No thing with id 7."
    assert response.headers["deprecation"] == f"@{int(SINCE.timestamp())}"
    assert "sunset" not in response.headers and "link" not in response.headers


async def test_other_routes_say_nothing(client):
    response = await client.get("/api/v1/things")
    assert response.status_code == 200
    assert not {"deprecation", "sunset"} & set(response.headers)


async def test_the_document_marks_only_the_deprecated_operations(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths["/api/v1/old-things"]["get"]["deprecated"] is True
    assert paths["/api/v1/old-things/{thing_id}"]["get"]["deprecated"] is True
    assert "deprecated" not in paths["/api/v1/things"]["get"]


def test_dates_must_be_aware_and_in_order():
    with pytest.raises(ValueError, match="time-zone aware"):
        deprecated(since=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="before it is deprecated"):
        deprecated(since=SUNSET, sunset=SINCE)
