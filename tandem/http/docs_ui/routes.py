"""The REST face's documentation pages, /docs (Swagger UI) and /redoc, and the static files."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from tandem.http.docs_ui.pages import STATIC_DIRECTORY, redoc_page, swagger_ui_page

OPENAPI_URL = "/openapi.json"


def docs_router(*, openapi_url: str = OPENAPI_URL) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return swagger_ui_page(
            request, openapi_url=request.scope.get("root_path", "") + openapi_url
        )

    @router.get("/redoc", response_class=HTMLResponse)
    async def redoc(request: Request) -> HTMLResponse:
        return redoc_page(request, openapi_url=request.scope.get("root_path", "") + openapi_url)

    return router


def static_files() -> StaticFiles:
    """The tools' files (a missing folder, a packaging slip, stops start-up)."""
    return StaticFiles(directory=STATIC_DIRECTORY)
