"""The REST route class (tandem/http/routes.py): which routes the admission step serves, and
that its parameter parsing takes exactly what FastAPI's takes, with the same values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from tandem.http.errors import install_error_handlers
from tandem.http.guard import CurrentPrincipal
from tandem.http.rate_limit import charge_rest_call
from tandem.http.routes import AdmittedRoute, _Plan, fast_path


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def route_named(app: FastAPI, name: str) -> APIRoute:
    return next(route for route in api_routes(app.router.routes) if route.name == name)


def test_every_rest_read_is_served_by_the_admission_step(app):
    document = app.openapi()
    operations = {
        operation["operationId"]
        for path, methods in document["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in methods.items()
        if method == "get"
    }
    served = {
        route.operation_id: route
        for route in api_routes(app.router.routes)
        if route.operation_id in operations
    }
    assert set(served) == operations
    slow = sorted(name for name, route in served.items() if not fast_path(route))
    assert slow == [], f"REST reads served by FastAPI's dependency solver: {slow}"
    assert all(isinstance(route, AdmittedRoute) for route in served.values())


def test_a_route_with_a_body_keeps_fastapis_handler(app):
    assert not fast_path(route_named(app, "create_item"))
    assert fast_path(route_named(app, "delete_item"))  # no body: admitted, parsed fast


def request_for(path_params: dict[str, str], query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "query_string": query.encode(),
            "path_params": path_params,
        }
    )


LIST_QUERIES = [
    "",
    "page=1&size=50",
    "size=100",
    "size=101",
    "size=0",
    "size=05",
    "size=+5",
    "size=%205",
    "size=5.0",
    "size=",
    "size=1_0",
    "size=%D9%A3",  # an Arabic-Indic digit: str.isdigit says yes, pydantic says no
    "size=99999999999999999999999",
    "page=2&page=3",
    "page=92233720368547759",
    "page=92233720368547760",
    "sort=price",
    "sort=bogus",
    "sort=",
    "expand=owner",
    "expand=owner&expand=owner",
    "expand=",
    "expand=nobody",
    "cursor=abc",
    "cursor=",
    "cursor=" + "x" * 1000,
    "cursor=" + "x" * 1001,
    "status=draft",
    "q=lamp",
    "owner_id=3",
    "unknown=1",
    "&",
    "page=1&cursor=abc",
]
FAST = {
    "",
    "page=1&size=50",
    "size=100",
    "page=92233720368547759",
    "sort=price",
    "expand=owner",
    "expand=owner&expand=owner",
    "cursor=abc",
    "cursor=" + "x" * 1000,
    "&",
    "page=1&cursor=abc",  # both given: the endpoint's own 422, as before
}


def both(plan: _Plan, request: Request) -> tuple[bool, dict[str, Any], Any]:
    fast: dict[str, Any] = {}
    taken = plan._parse(request, fast)
    slow: dict[str, Any] = {}
    try:
        plan._parse_as_fastapi(request, slow)
    except RequestValidationError as refused:
        return taken, fast, refused.errors()
    return taken, fast, slow


@pytest.mark.parametrize("query", LIST_QUERIES)
def test_the_lists_parameters_parse_as_fastapi_parses_them(app, query):
    plan = _Plan.of(route_named(app, "list_items"), None)
    assert plan is not None
    taken, fast, slow = both(plan, request_for({}, query))
    if taken:
        assert fast == slow  # FastAPI accepts the same values (a refusal is a list, not equal)
    assert taken == (query in FAST)


@pytest.mark.parametrize(
    "item_id", ["1", "9223372036854775807", "9223372036854775808", "0", "01", "-1", "x", "1.0"]
)
@pytest.mark.parametrize("query", ["", "expand=owner", "expand=other", "expand=owner&size=5"])
def test_an_items_parameters_parse_as_fastapi_parses_them(app, item_id, query):
    plan = _Plan.of(route_named(app, "read_item"), None)
    assert plan is not None
    taken, fast, slow = both(plan, request_for({"item_id": item_id}, query))
    if taken:
        assert fast == slow
    canonical = item_id in ("1", "9223372036854775807") and query in ("", "expand=owner")
    assert taken == canonical


async def test_an_inclusion_that_adds_a_dependency_is_served_with_it(services):
    """Included with a dependency of its own, a route is FastAPI's to serve (which runs it);
    included plainly, it is the admission step's. One route object serves both."""
    heard: list[str] = []

    async def marker(request: Request) -> None:
        heard.append(request.url.path)

    router = APIRouter(route_class=AdmittedRoute, dependencies=[Depends(charge_rest_call)])

    @router.get("/ping")
    async def ping(principal: CurrentPrincipal) -> Response:
        return Response(b"anonymous" if principal is None else b"signed in")

    app = FastAPI()
    app.state.services = services
    app.include_router(router, prefix="/marked", dependencies=[Depends(marker)])
    app.include_router(router, prefix="/plain")
    install_error_handlers(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        marked = await client.get("/marked/ping")
        plain = await client.get("/plain/ping")
        refused = await client.get("/plain/ping", headers={"Authorization": "Bearer nonsense"})
    assert (marked.status_code, marked.content) == (200, b"anonymous")
    assert (plain.status_code, plain.content) == (200, b"anonymous")
    assert heard == ["/marked/ping"]
    assert refused.status_code == 401  # the guard's refusal, through the app's handlers
    assert refused.headers["content-type"].startswith("application/problem+json")
