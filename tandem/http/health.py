"""Liveness and readiness, for orchestrators and load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tandem.http.guard import AppServices
from tandem.http.problems import MEDIA_TYPE, problem

router = APIRouter(tags=["health"])
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "UNAVAILABLE: the database is unreachable or not migrated",
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before probing again",
                "schema": {"type": "integer", "minimum": 0},
                "required": True,
            }
        },
    }
}


# HEAD too: load balancers and orchestrators often probe with it.
@router.get("/healthz", summary="The process is alive", operation_id="healthz")
@router.head("/healthz", summary="The process is alive (headers only)", operation_id="healthzHead")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="The database is reachable and migrated",
    operation_id="readyz",
    responses=NOT_READY,
)
@router.head(
    "/readyz",
    summary="The database is reachable and migrated (headers only)",
    operation_id="readyzHead",
    responses=NOT_READY,
)
async def readyz(request: Request, services: AppServices) -> Response:
    if await services.database.is_ready():
        return JSONResponse({"status": "ready"})
    detail = "The database is unreachable or not migrated to this version."
    return problem(request, status=503, detail=detail, headers={"Retry-After": "5"})
