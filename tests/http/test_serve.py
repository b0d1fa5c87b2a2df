"""`serve` (tandem/app.py) re-adds each face's routes to the app's own router: it must pass on
every declaration FastAPI lets a route make, or a route would quietly lose one."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute

from tandem.api.items.router import router as items_router
from tandem.app import serve


def _recorded(router: APIRouter, prefix: str) -> list[dict[str, Any]]:
    app = FastAPI()
    calls: list[dict[str, Any]] = []

    def record(path: str, endpoint: Any, **declared: Any) -> None:
        calls.append({"path": path, "endpoint": endpoint, **declared})

    app.router.add_api_route = record  # type: ignore[method-assign]
    serve(app, router, prefix=prefix)
    return calls


def test_serve_passes_on_every_parameter_fastapi_routes_take() -> None:
    """A parameter FastAPI adds to `add_api_route` in a later release fails here until
    `serve` passes it on."""
    taken = set(inspect.signature(APIRouter.add_api_route).parameters) - {"self"}
    calls = _recorded(items_router, "/api/v1")
    assert calls
    for call in calls:
        assert set(call) == taken


def test_served_routes_keep_their_declarations() -> None:
    """Each served route declares what the router's own route declares, under the prefix."""
    served = FastAPI()
    serve(served, items_router, prefix="/api/v1")
    own = {
        ("/api/v1" + route.path, frozenset(route.methods)): _declarations(route)
        for route in items_router.routes
        if isinstance(route, APIRoute)
    }
    found = {
        (route.path, frozenset(route.methods)): _declarations(route)
        for route in served.router.routes
        if isinstance(route, APIRoute)
    }
    assert own
    assert found == own


def _declarations(route: APIRoute) -> dict[str, Any]:
    """What FastAPI keeps on a route of each parameter `add_api_route` takes."""
    kept = {
        name: _resolved(getattr(route, name))
        for name in inspect.signature(APIRouter.add_api_route).parameters
        if name not in {"self", "path", "dependencies"} and hasattr(route, name)
    }
    kept["dependencies"] = [dependency.dependency for dependency in route.dependencies]
    kept["class"] = type(route)
    return kept


def _resolved(value: Any) -> Any:
    """A default FastAPI resolves when the route is added (to the app's, which is the same)."""
    return value.value if isinstance(value, DefaultPlaceholder) else value
