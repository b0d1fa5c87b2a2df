"""Liveness and readiness, for orchestrators and load balancers."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tandem.http.guard import AppServices
from tandem.http.problems import problem

router = APIRouter(tags=["health"])


# HEAD too: load balancers and orchestrators often probe with it.
@router.get("/healthz", summary="The process is alive")
@router.head("/healthz", summary="The process is alive (headers only)")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="The database is reachable and migrated")
@router.head("/readyz", summary="The database is reachable and migrated (headers only)")
async def readyz(request: Request, services: AppServices) -> Response:
    if await services.database.is_ready():
        return JSONResponse({"status": "ready"})
    detail = "The database is unreachable or not migrated to this version."
    return problem(request, status=503, detail=detail, headers={"Retry-After": "5"})
