"""The pages people open: /docs (Swagger UI), /redoc, the static files; and `/`, with
development's `/reset-password`, the page the mailed reset link opens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from tandem.http.docs_ui.pages import (
    STATIC_DIRECTORY,
    home_page,
    redoc_page,
    reset_password_page,
    swagger_ui_page,
)

OPENAPI_URL = "/openapi.json"


def docs_router(
    *,
    openapi_url: str = OPENAPI_URL,
    development: bool = True,
    rest_prefix: str = "/api/v1",
    reset_path: str | None = None,
) -> APIRouter:
    """`reset_path`: where the reset mail's link points, served in development. In
    production `/` is a JSON pointer to the documents, and the reset link is left to the
    product's own front end (PUBLIC_URL's)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_model=None)
    async def home(request: Request) -> Response:
        if development:
            return home_page(request, rest_prefix=rest_prefix)
        root = request.scope.get("root_path", "")
        return JSONResponse(
            {
                "name": "Tandem",
                "rest": root + rest_prefix,
                "openapi": root + openapi_url,
                "docs": root + "/docs",
                "redoc": root + "/redoc",
                "graphql": root + "/graphql",
            }
        )

    if development and reset_path is not None:

        @router.get(reset_path, response_class=HTMLResponse)
        async def reset_password(request: Request) -> HTMLResponse:
            reset_url = request.scope.get("root_path", "") + rest_prefix + "/auth/reset-password"
            return reset_password_page(request, reset_url=reset_url)

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
