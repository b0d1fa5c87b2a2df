"""A REST 422 in the client's terms: its field names, the rule in plain words, once per field.

pydantic reports what its validators saw: union branches (`title.constrained-str`,
`title.none: Input should be None`), its own type names, a message per branch. The
request's route has the same rules in its OpenAPI document (the one clients read), so
the bounds a message quotes ("must be 1 to 200 characters") come from there, and what
pydantic added to a location that the document does not name (a union's tags) is
dropped.

Domain refusals name a field by its bare name (`("title",)`); `where` adds the part of
the request it came in (`body`, `query`, `path`, `header`), as pydantic's locations do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request

from tandem.domain import wording
from tandem.domain.errors import FieldError, clip

Schema = Mapping[str, Any]
SOURCES = ("body", "query", "path", "header", "cookie")
# The last resort for an error type no rule below knows: pydantic's sentence, made ours.
_PYDANTIC_LEAD = re.compile(r"^(Input|String|List|Decimal input|Value|Tuple|Dictionary) should ")
_JSON_POSITION = re.compile(r"\d+")


def client_errors(request: Request, raw: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """pydantic's errors as the client's: one per field, in the order first reported."""
    operation = _operation(request)
    chosen: dict[tuple[str | int, ...], tuple[int, FieldError]] = {}
    for error in raw:
        kind = str(error.get("type", ""))
        loc, schema = _client_loc(operation, tuple(error.get("loc", ())), kind, request.app)
        rank = _RANK.get(kind, 1)
        shown = FieldError(
            tuple(clip(part) if isinstance(part, str) else part for part in loc),
            _message(kind, error, schema),
            kind,
        )
        # A union reports each branch: keep the one that says most (never "should be None").
        if loc not in chosen or rank > chosen[loc][0]:
            chosen[loc] = (rank, shown)
    return [shown for _, shown in chosen.values()]


def where(request: Request, errors: Iterable[FieldError]) -> list[FieldError]:
    """A domain refusal's fields, located in the request as pydantic's are."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return list(errors)
    dependant = route.dependant
    sources = {
        **{param.alias: "header" for param in dependant.header_params},
        **{param.alias: "path" for param in dependant.path_params},
        **{param.alias: "query" for param in dependant.query_params},
    }
    body = "body" if dependant.body_params else None
    located = []
    for error in errors:
        first = error.loc[0] if error.loc else None
        if first in SOURCES:
            located.append(error)
            continue
        source = sources.get(first) if isinstance(first, str) else None
        source = source or body
        loc = (source, *error.loc) if source else error.loc
        located.append(FieldError(loc, error.msg, error.type))
    return located


# Which of a union's reports to keep: "Input should be None" (the null branch of an
# optional field) least, a type mismatch less than a broken rule.
_RANK = {"none_required": 0, "string_type": 1, "int_type": 1, "list_type": 1}


def _message(kind: str, error: Mapping[str, Any], schema: Schema | None) -> str:
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    rule = schema or {}
    if kind == "missing":
        return wording.REQUIRED
    if kind == "extra_forbidden":
        return wording.NOT_ALLOWED
    if kind in ("string_too_short", "string_too_long"):
        return wording.length(
            _bound(ctx, "min_length", rule, "minLength"),
            _bound(ctx, "max_length", rule, "maxLength"),
        )
    if kind in ("too_short", "too_long"):
        return wording.entries(
            _bound(ctx, "min_length", rule, "minItems"), _bound(ctx, "max_length", rule, "maxItems")
        )
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return wording.number(
            _bound(ctx, "ge", rule, "minimum"),
            _bound(ctx, "le", rule, "maximum"),
            above=_bound(ctx, "gt", rule, "exclusiveMinimum"),
            below=_bound(ctx, "lt", rule, "exclusiveMaximum"),
        )
    if kind in ("enum", "literal_error"):
        values = rule.get("enum") or re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return wording.one_of(values)
    if kind == "decimal_max_places":
        return wording.decimal_places(int(ctx.get("decimal_places", 2)))
    if kind in ("decimal_parsing", "decimal_type", "decimal_max_digits", "decimal_whole_digits"):
        return wording.A_DECIMAL
    if kind in ("string_type", "string_sub_type", "string_unicode"):
        return wording.A_STRING
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return wording.AN_INTEGER
    if kind in ("float_type", "float_parsing", "finite_number"):
        return wording.A_NUMBER
    if kind in ("bool_type", "bool_parsing"):
        return wording.A_BOOLEAN
    if kind in ("list_type", "tuple_type", "set_type"):
        return wording.A_LIST
    if kind in ("model_attributes_type", "model_type", "dict_type"):
        return wording.AN_OBJECT
    if kind == "none_required":
        return wording.NOT_NULL
    if kind == "json_invalid":
        position = error.get("loc", ())[-1:]
        at = f" (at character {position[0]})" if position and isinstance(position[0], int) else ""
        return f"is not valid JSON{at}"
    if kind == "string_pattern_mismatch":
        return str(rule.get("description") or f"must match the pattern {ctx.get('pattern')}")
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return _PYDANTIC_LEAD.sub("must ", message)


def _bound(ctx: Mapping[str, Any], name: str, rule: Schema, keyword: str) -> Any:
    """The bound pydantic broke (exact), else the other one from the document."""
    return ctx[name] if name in ctx else rule.get(keyword)


def _operation(request: Request) -> Schema | None:
    """The request's operation in the served OpenAPI document (built once, then cached)."""
    route = request.scope.get("route")
    app = request.scope.get("app")
    if not isinstance(route, APIRoute) or not isinstance(app, FastAPI):
        return None
    try:
        document = app.openapi()
    except Exception:  # the wording falls back to what pydantic's context says
        return None
    # The route knows its path within its router; the document has it with the prefixes the
    # app included it under, which the request's own path starts with.
    method, path = request.method.lower(), request.url.path
    for template, operations in document.get("paths", {}).items():
        prefix = template.removesuffix(route.path_format)
        if (
            template.endswith(route.path_format)
            and path.startswith(prefix)
            and method in operations
        ):
            operation: Schema = operations[method]
            return operation
    return None


def _client_loc(
    operation: Schema | None, loc: tuple[Any, ...], kind: str, app: Any
) -> tuple[tuple[str | int, ...], Schema | None]:
    """The location as the client wrote it, and the schema of the field it names."""
    if not loc or loc[0] not in SOURCES:
        return tuple(loc), None
    source = loc[0]
    if kind == "json_invalid":
        return (source,), None  # pydantic adds the byte offset; the message says it
    components = _components(app)
    schema = _source_schema(operation, source, loc[1] if len(loc) > 1 else None, components)
    kept: list[str | int] = [source]
    rest = loc[1:]
    if source != "body" and rest:  # a parameter: its name, then its schema
        kept.append(rest[0])
        rest = rest[1:]
    for index, part in enumerate(rest):
        last = index == len(rest) - 1
        if isinstance(part, int):
            kept.append(part)
            schema = _items(schema, components)
        elif schema is None:
            # No document to go by: request bodies are flat, so a name past the field is a tag.
            if len(kept) < 2:
                kept.append(part)
        else:
            properties = _properties(schema, components)
            if part in properties:
                kept.append(part)
                schema = properties[part]
            elif last and kind == "extra_forbidden":
                kept.append(part)
                schema = None
            # else: a union's tag, which the client never wrote
    return tuple(kept), _resolve(schema, components)


def _components(app: Any) -> Schema:
    document = getattr(app, "openapi_schema", None) or {}
    components: Schema = document.get("components", {}).get("schemas", {})
    return components


def _source_schema(
    operation: Schema | None, source: str, name: Any, components: Schema
) -> Schema | None:
    if operation is None:
        return None
    if source == "body":
        content = (operation.get("requestBody") or {}).get("content") or {}
        for media in content.values():
            return _resolve(media.get("schema"), components)
        return None
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == source and parameter.get("name") == name:
            return _resolve(parameter.get("schema"), components)
    return None


def _resolve(schema: Schema | None, components: Schema) -> Schema | None:
    """A schema with its `$ref` followed and its `anyOf`/`allOf` branches' rules merged."""
    if schema is None:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = {**components.get(ref.rsplit("/", 1)[-1], {}), **schema}
    merged: dict[str, Any] = {}
    for key in ("anyOf", "allOf", "oneOf"):
        for branch in schema.get(key, []):
            resolved = _resolve(branch, components) or {}
            if resolved.get("type") != "null":
                merged.update(resolved)
    merged.update({k: v for k, v in schema.items() if k not in ("anyOf", "allOf", "oneOf")})
    return merged


def _properties(schema: Schema, components: Schema) -> Schema:
    properties: Schema = (_resolve(schema, components) or {}).get("properties", {})
    return properties


def _items(schema: Schema | None, components: Schema) -> Schema | None:
    resolved = _resolve(schema, components)
    return _resolve(resolved.get("items"), components) if resolved else None
