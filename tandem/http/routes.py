"""The REST face's route class: FastAPI routes the request, the admission step runs it.

Every REST router is an `APIRouter(route_class=AdmittedRoute)`. Its routes are declared
as FastAPI routes always are (the guard, the charge, typed path, query and header
parameters), so the OpenAPI document is FastAPI's own reading of them. What changes is
how a bodiless route (the reads, and DELETE) is served once the router has chosen it:

1. **Admission.** The route's dependencies must all be admission steps (`admission_step`
   below: the guard, the charge, the services). Their fast forms run on the request's
   `Admission` in the declared order: the caller found once, the call charged, an
   anonymous caller refused; no dependency solving.
2. **Parameters.** Each path and query parameter has a converter compiled from its
   FastAPI declaration (an integer within its bounds, a string within its length, a
   member of an enum, a list of members). A value it does not take as written, a repeated
   or unknown parameter, any header parameter, or a filter model that is given any field,
   sends the whole request's parameters through FastAPI's own `request_params_to_args`
   instead: what it accepts, it accepts the same, and every refusal is FastAPI's, so a
   422 names the same `loc`s in the same words.
3. **No wrapper of its own.** The route's `handle` makes the `Request` and answers an
   error through the app's exception handlers itself: FastAPI's `request_response` (two
   exit stacks for dependencies that yield, which an admitted route has none of) is left
   out. A method the route does not take, or a route included somewhere with
   dependencies of its own, is handled the FastAPI way.
4. **One connection.** A GET's admission and endpoint run inside `database.session()`:
   the caller's lookup and the use case's statements share one pooled connection, given
   back when the endpoint returns (before the answer is sent). Other methods borrow per
   block as everywhere else: a write may wait on more than the database (a webhook's
   ping waits on the receiver).

A route with a body, a sync endpoint, another kind of dependency (a deprecation mark),
or an endpoint that does not return a `Response` is served by FastAPI's own handler,
unchanged: `fast_path(route)` says which, and a test holds every REST read to the fast
one. The dependencies' FastAPI forms run the same steps (tandem/http/rate_limit.py), so
both handlers admit alike.
"""

from __future__ import annotations

import copy
import enum
import inspect
import typing
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import NoneType, UnionType
from typing import Any, TypeVar

import annotated_types
from fastapi import routing as fastapi_routing
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tandem.http.admission import Admission, admission_of

Step = Callable[[Admission], Awaitable[Any]]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Dependency = TypeVar("Dependency")

_STEPS: dict[Any, Step] = {}
_SLOW = object()  # a converter's "not as written: ask FastAPI"
_IMMUTABLE = (NoneType, int, str, bool, float, enum.Enum)


def admission_step(step: Step) -> Callable[[Dependency], Dependency]:
    """Declare `step` the fast form of the decorated FastAPI dependency (same work, same order)."""

    def register(dependency: Dependency) -> Dependency:
        _STEPS[dependency] = step
        return dependency

    return register


def register_step(dependency: Any, step: Step) -> None:
    """`admission_step` for a dependency that is an instance (the guard)."""
    _STEPS[dependency] = step


class AdmittedRoute(APIRoute):
    """A REST route; see the module's docstring."""

    _served: _Plan | None = None  # what `handle` runs itself; None: FastAPI's way
    _included_with_more = False  # some inclusion of it adds dependencies of its own

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        plan = _Plan.of(self, standard)
        if _inclusion_adds_dependencies(self):
            # That inclusion's handler is FastAPI's, which runs them; and `handle` leaves
            # every request to the handler of the inclusion it came through.
            self._included_with_more = True
            plan = None
        self._served = None if self._included_with_more else plan
        return standard if plan is None else plan.handle

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The chosen route's answer: FastAPI's `request_response` (its exit stacks, for
        dependencies that yield, which an admitted route has none of) left out; an error
        answered by the app's exception handlers, as Starlette's wrapper would."""
        plan = self._served
        if plan is None or (self.methods is not None and scope["method"] not in self.methods):
            await super().handle(scope, receive, send)  # FastAPI's way, its 405 included
            return
        request = Request(scope, receive, send)
        try:
            response = await plan.handle(request)
        except Exception as error:
            response = await _answer_to(request, error)
        await response(scope, receive, send)


def _inclusion_adds_dependencies(route: APIRoute) -> bool:
    """Whether FastAPI is building `route`'s handler for an inclusion that adds dependencies
    (FastAPI 0.16x keeps an included route and builds one handler per inclusion, telling
    which through this context variable; older versions copy the route, whose own
    dependant then lists them)."""
    context_var = getattr(fastapi_routing, "_effective_route_context_var", None)
    context = context_var.get() if context_var is not None else None
    dependant = getattr(context, "dependant", None)
    if dependant is None:
        return False
    calls = [sub.call for sub in dependant.dependencies]
    return calls != [sub.call for sub in route.dependant.dependencies]


def fast_path(route: APIRoute) -> bool:
    """Whether `route` is served by the admission step (else by FastAPI's own handler)."""
    return isinstance(route, AdmittedRoute) and _Plan.of(route, None) is not None


Converter = Callable[[str], Any]


class _Plan:
    """How one route is served: its steps, its parameters' converters, its endpoint."""

    def __init__(
        self,
        route: APIRoute,
        standard: Handler,
        steps: list[tuple[str | None, Step]],
        path: list[tuple[str, str, Converter]],
        query: dict[str, tuple[str, Converter, bool]],
        defaults: list[tuple[str, Callable[[], Any]]],
    ) -> None:
        dependant = route.dependant
        assert dependant.call is not None
        self.call: Callable[..., Awaitable[Response]] = dependant.call
        self.standard = standard
        self.provider = route.dependency_overrides_provider
        self.steps = steps
        self.request_name = dependant.request_param_name
        self.path = path
        self.query = query
        self.defaults = defaults
        self.path_fields = dependant.path_params
        self.query_fields = dependant.query_params
        self.header_fields = dependant.header_params

    @classmethod
    def of(cls, route: APIRoute, standard: Handler | None) -> _Plan | None:
        dependant = route.dependant
        call = dependant.call
        if (
            call is None
            or not inspect.iscoroutinefunction(call)
            or dependant.body_params
            or dependant.cookie_params
            or dependant.http_connection_param_name
            or dependant.websocket_param_name
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or not _answers_a_response(call)
        ):
            return None
        steps: list[tuple[str | None, Step]] = []
        for sub in dependant.dependencies:
            step = _STEPS.get(sub.call)
            if step is None:
                return None
            steps.append((sub.name, step))
        path = []
        for field in dependant.path_params:
            convert = _converter(field.field_info.annotation, field.field_info.metadata)
            path.append((field.name, field.alias, convert or _always_slow))
        query: dict[str, tuple[str, Converter, bool]] = {}
        defaults: list[tuple[str, Callable[[], Any]]] = []
        for field in dependant.query_params:
            info = field.field_info
            model = _model_of(info.annotation)
            if model is not None:
                if model.model_config.get("extra", "ignore") != "ignore":
                    return None
                # No field of it given: FastAPI validates the model from no fields.
                defaults.append((field.name, _validated_empty(field)))
                for name, inner in model.model_fields.items():
                    query[inner.alias or name] = (field.name, _always_slow, False)
                continue
            convert = _converter(info.annotation, info.metadata) or _always_slow
            query[field.alias] = (field.name, convert, _is_list(info.annotation))
            if info.is_required() or info.validate_default:
                defaults.append((field.name, _always_slow_default))
            else:
                defaults.append((field.name, _default_of(field.default)))
        return cls(route, standard or _unused, steps, path, query, defaults)

    async def handle(self, request: Request) -> Response:
        provider = self.provider
        if provider is not None and getattr(provider, "dependency_overrides", None):
            return await self.standard(request)  # a test's overrides: FastAPI's solver
        admission = admission_of(request.scope)
        if request.scope["method"] != "GET":  # a write may wait on more than the database
            return await self._run(request, admission)
        async with admission.services.database.session():
            return await self._run(request, admission)

    async def _run(self, request: Request, admission: Admission) -> Response:
        values: dict[str, Any] = {}
        for name, step in self.steps:
            value = await step(admission)
            if name is not None:
                values[name] = value
        if self.request_name is not None:
            values[self.request_name] = request
        if not self._parse(request, values):
            self._parse_as_fastapi(request, values)
        return await self.call(**values)

    def _parse(self, request: Request, values: dict[str, Any]) -> bool:
        """The parameters as written, or False: then FastAPI's own parsing decides."""
        if self.header_fields:
            return False
        found = request.scope["path_params"]
        for name, alias, convert in self.path:
            raw = found.get(alias)
            if raw is None or (value := convert(raw)) is _SLOW:
                return False
            values[name] = value
        for name, make in self.defaults:
            if (value := make()) is _SLOW:
                return False
            values[name] = value
        if not request.scope["query_string"]:
            return True
        seen: set[str] = set()
        for key, raw in request.query_params.multi_items():
            known = self.query.get(key)
            if known is None:
                return False
            name, convert, many = known
            value = convert(raw)
            if value is _SLOW:
                return False
            if many:
                if key in seen:
                    values[name].append(value)
                else:
                    values[name] = [value]
            elif key in seen:
                return False
            else:
                values[name] = value
            seen.add(key)
        return True

    def _parse_as_fastapi(self, request: Request, values: dict[str, Any]) -> None:
        """FastAPI's own parsing of every parameter, in its order; a 422 if it refuses any."""
        errors: list[Any] = []
        for fields, given in (
            (self.path_fields, request.path_params),
            (self.query_fields, request.query_params),
            (self.header_fields, request.headers),
        ):
            found, refused = request_params_to_args(fields, given)
            values.update(found)
            errors += refused
        if errors:
            raise RequestValidationError(errors, body=None)


async def _answer_to(request: Request, error: Exception) -> Response:
    exception_handlers, status_handlers = request.scope.get(
        "starlette.exception_handlers", ({}, {})
    )
    handler = None
    if isinstance(error, HTTPException):
        handler = status_handlers.get(error.status_code)
    if handler is None:
        for kind in type(error).__mro__:
            if kind in exception_handlers:
                handler = exception_handlers[kind]
                break
    if handler is None:
        raise error
    if inspect.iscoroutinefunction(handler):
        answer: Response = await handler(request, error)
    else:
        answer = await run_in_threadpool(handler, request, error)
    return answer


async def _unused(request: Request) -> Response:  # pragma: no cover - fast_path's probe only
    raise AssertionError("a probe plan is never served")


def _always_slow(raw: str) -> Any:
    """A parameter with no fast form (a pattern, say): FastAPI reads it whenever it is given."""
    return _SLOW


def _always_slow_default() -> Any:
    """A required parameter: whether it is given, and how, is FastAPI's to say."""
    return _SLOW


def _answers_a_response(call: Callable[..., Any]) -> bool:
    try:
        answer = typing.get_type_hints(call).get("return")
    except Exception:  # an annotation that does not resolve: let FastAPI serve it
        return False
    return isinstance(answer, type) and issubclass(answer, Response)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _validated_empty(field: Any) -> Callable[[], Any]:
    def make() -> Any:
        value, errors = field.validate({}, {}, loc=("query",))
        assert not errors, errors  # a filter model whose every field is optional
        return value

    return make


def _default_of(default: Any) -> Callable[[], Any]:
    if isinstance(default, _IMMUTABLE):
        return lambda: default
    return lambda: copy.deepcopy(default)


def _optional(annotation: Any) -> tuple[Any, bool]:
    """`X | None` -> (X, True); anything else -> (itself, False)."""
    if typing.get_origin(annotation) in (UnionType, typing.Union):
        args = [arg for arg in typing.get_args(annotation) if arg is not NoneType]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _is_list(annotation: Any) -> bool:
    inner, _ = _optional(annotation)
    return typing.get_origin(inner) is list


def _converter(annotation: Any, metadata: Sequence[Any]) -> Converter | None:
    """A converter for the values it takes exactly as pydantic would; None: no fast form."""
    inner, _ = _optional(annotation)
    if typing.get_origin(inner) is list:
        (member,) = typing.get_args(inner)
        if metadata:
            return None
        return _converter(member, ())
    if inner is int:
        return _integer(metadata)
    if inner is str:
        return _text(metadata)
    if isinstance(inner, type) and issubclass(inner, enum.Enum) and not metadata:
        members: dict[str, Any] = {str(member.value): member for member in inner}
        return lambda raw: members.get(raw, _SLOW)
    if typing.get_origin(inner) is typing.Literal and not metadata:
        words = typing.get_args(inner)
        if not all(isinstance(word, str) for word in words):
            return None
        allowed = {word: word for word in words}
        return lambda raw: allowed.get(raw, _SLOW)
    return None


def _integer(metadata: Sequence[Any]) -> Converter | None:
    low, high = -(2**63), 2**63 - 1
    for rule in metadata:
        if isinstance(rule, annotated_types.Ge) and isinstance(rule.ge, int):
            low = max(low, rule.ge)
        elif isinstance(rule, annotated_types.Le) and isinstance(rule.le, int):
            high = min(high, rule.le)
        else:
            return None

    def convert(raw: str) -> Any:
        # Plain decimal digits, no sign, no leading zero, within the bounds: anything else
        # (and every refusal) is pydantic's to read.
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or (raw[0] == "0" and raw != "0"):
            return _SLOW
        value = int(raw)
        return value if low <= value <= high else _SLOW

    return convert


def _text(metadata: Sequence[Any]) -> Converter | None:
    shortest, longest = 0, None
    for rule in metadata:
        if isinstance(rule, annotated_types.MinLen):
            shortest = rule.min_length
        elif isinstance(rule, annotated_types.MaxLen):
            longest = rule.max_length
        else:
            return None

    def convert(raw: str) -> Any:
        if len(raw) < shortest or (longest is not None and len(raw) > longest) or not raw:
            return _SLOW
        return raw

    return convert
