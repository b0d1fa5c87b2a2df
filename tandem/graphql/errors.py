"""Domain errors as GraphQL errors with `extensions.code`; unexpected ones masked, logged once.

Applied where every result passes, the HTTP view's `process_result`, because parse
errors never reach a schema extension's post-processing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from typing import Any

from graphql import FieldNode, GraphQLError, Node

from tandem.domain import global_ids, wording
from tandem.domain.errors import (
    DomainError,
    FieldError,
    NotFound,
    Unavailable,
    ValidationFailed,
    clip,
    missing_message,
)
from tandem.http.errors import log_unavailable

_logger = logging.getLogger("tandem.graphql")

GRAPHQL_CODES = {"VALIDATION_FAILED": "BAD_USER_INPUT"}
# graphql-core quotes the input it refuses ("found: {'password': ...}", "non string value: 1").
_INVALID_VALUE = re.compile(r"^(.*? has invalid value[^:]*): (.*)$", re.DOTALL)
_QUOTED_INPUT = re.compile(
    r"(?:,? but encountered error .*|[,.]?\s*[Ff]ound: .*|(?<=value): .*)$", re.DOTALL
)
_ENUM_VALUE = re.compile(r"^Value .* does not exist in ('[^']*' enum\.)", re.DOTALL)
# "Did you mean 'first'?": hints that rebuild the schema name by name without introspection.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# Strawberry's depth and alias rules (tandem/graphql/execution.py), reworded in our terms.
_TOO_DEEP = re.compile(r"^'.*' exceeds maximum operation depth of (\d+)$", re.DOTALL)
_TOO_MANY_ALIASES = re.compile(r"^(\d+) aliases found\. Allowed: (\d+)$")
MAX_MESSAGE = 300
# The records GraphQL names by global id: a domain "No item with id 9999." names the id
# the client sent ("No item with id SXRlbTo5OTk5.").
NODE_TYPES = {"item": "Item", "user": "User"}
# A domain field whose GraphQL argument has another name.
ARGUMENT_NAMES = {"sort": "orderBy"}
# The input-object arguments a domain field (`title`) lives in (`input.title`).
HOLDERS = ("input", "filter")
MASKED_MESSAGE = "Something went wrong on our side; quote the request id if you report it."


def code_for(error: GraphQLError) -> str:
    given = (error.extensions or {}).get("code")
    if isinstance(given, str):
        return given
    original = error.original_error
    if isinstance(original, DomainError):
        return GRAPHQL_CODES.get(original.code, original.code)
    if original is None:
        if error.message.startswith("Syntax Error"):
            return (
                "QUERY_TOO_COMPLEX"
                if "Parsing aborted" in error.message
                else "GRAPHQL_PARSE_FAILED"
            )
        if error.path is None and error.message.startswith("Variable"):
            return "BAD_USER_INPUT"
        if _shape_refusal(error.message) is not None:
            return "QUERY_TOO_COMPLEX"
        return "GRAPHQL_VALIDATION_FAILED"
    if error.path is None:  # a scalar that refused a literal or variable during validation
        return "BAD_USER_INPUT"
    return "INTERNAL"


def graphql_loc(loc: Sequence[str | int], arguments: Collection[str]) -> tuple[str | int, ...]:
    """A domain field's location in GraphQL's terms: camelCase, inside its argument.

    The domain names a field as its command does (`current_password`); GraphQL clients
    sent it as `input.currentPassword`, `filter.tag` or `orderBy`.
    """
    parts = tuple(_camel(part) if isinstance(part, str) else part for part in loc)
    if not parts or not isinstance(parts[0], str):
        return parts
    head = ARGUMENT_NAMES.get(parts[0], parts[0])
    if head in arguments:
        return (head, *parts[1:])
    for holder in HOLDERS:
        if holder in arguments:
            return (holder, *parts)
    return parts


# graphql-core's refusal of a variable's value, and its reasons in REST's words and types.
_VARIABLE = re.compile(r"^Variable '\$(\w+)' has invalid value(?: at ([^:]*))?: (.*)$", re.DOTALL)
_PATH_PART = re.compile(r"\.(\w+)|\[(\d+)\]")
_REASONS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), msg, kind)
    for pattern, msg, kind in (
        (r"^String cannot represent", wording.A_STRING, "string_type"),
        (r"^Int cannot represent non 32-bit", "must be a 32-bit integer", "int_type"),
        (r"^Int cannot represent", wording.AN_INTEGER, "int_type"),
        (r"^Float cannot represent", wording.A_NUMBER, "float_type"),
        (r"^Boolean cannot represent", wording.A_BOOLEAN, "bool_type"),
        (r"^ID cannot represent", "must be a string or an integer", "string_type"),
        (r"cannot represent a Decimal", wording.A_DECIMAL, "decimal_parsing"),
        (r"does not exist in '(\w+)' enum", "must be a value of the {0} enum", "enum"),
        (r"not to include unknown field '(\w+)'", wording.NOT_ALLOWED, "extra_forbidden"),
        (r"to include required field '(\w+)'", wording.REQUIRED, "missing"),
        (r"^Expected value of non-null type .* not to be None", wording.REQUIRED, "missing"),
    )
)


def coercion_errors(message: str) -> list[FieldError] | None:
    """A variable that failed to coerce, as the field error REST would give, or None.

    `Variable '$input' has invalid value at .title: String cannot represent a non string
    value.` becomes `input.title: must be a string`; an unknown or a missing field is
    named in the location (`input.colour: is not allowed`).
    """
    match = _VARIABLE.match(message)
    if match is None:
        return None
    name, at, reason = match.groups()
    loc: list[str | int] = [name]
    for field, index in _PATH_PART.findall(at or ""):
        loc.append(int(index) if index else field)
    for pattern, msg, kind in _REASONS:
        found = pattern.search(reason)
        if found is None:
            continue
        if kind in ("extra_forbidden", "missing") and found.groups():
            loc.append(found.group(1))
        elif found.groups():
            msg = msg.format(found.group(1))
        return [FieldError(tuple(loc), msg, kind)]
    return None


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _arguments(nodes: Sequence[Node] | None) -> set[str]:
    """The arguments the client gave the field that failed."""
    field: Any = nodes[0] if nodes else None
    if not isinstance(field, FieldNode):
        return set()
    return {argument.name.value for argument in field.arguments or ()}


def _shape_refusal(message: str) -> str | None:
    """Our wording of a depth or alias refusal, or None for any other message."""
    deep = _TOO_DEEP.match(message)
    if deep:  # Strawberry counts the root fields as depth 0
        return f"The query is too complex: it nests fields deeper than {int(deep[1]) + 1}."
    aliases = _TOO_MANY_ALIASES.match(message)
    if aliases:
        return f"The query is too complex: {aliases[1]} aliases exceed {aliases[2]}."
    return None


def without_input(message: str) -> str:
    """graphql-core's message less the input it quotes (a password, say): the reason stays."""
    prefix = ""
    match = _INVALID_VALUE.match(message)
    if match:
        prefix, message = match.group(1) + ": ", match.group(2)
    message = _ENUM_VALUE.sub(r"The value does not exist in \1", message)
    reason = _QUOTED_INPUT.sub("", message).rstrip()
    if reason and not reason.endswith((".", "?")):
        reason += "."
    return prefix + reason


def with_code(
    error: GraphQLError,
    *,
    request_id: str | None,
    mask_unexpected: bool,
    hide_suggestions: bool = False,
) -> GraphQLError:
    """The error with a stable `extensions.code`; an unexpected one is logged here, once.

    No message repeats the input it refuses; with `hide_suggestions` (outside development)
    none suggests a name of the schema either.
    """
    code = code_for(error)
    extensions = {**(error.extensions or {}), "code": code}
    original = error.original_error
    message = error.message
    if isinstance(original, ValidationFailed):
        located = [
            FieldError(graphql_loc(e.loc, _arguments(error.nodes)), e.msg, e.type)
            for e in original.errors
        ]
        extensions["errors"] = [{"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in located]
        message = "The request is not valid: " + "; ".join(
            f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in located
        )
    elif isinstance(original, NotFound) and isinstance(original.id, int):
        node_type = NODE_TYPES.get(original.kind or "")
        if node_type is not None:
            message = missing_message(node_type.lower(), global_ids.encode(node_type, original.id))
    if code == "QUERY_TOO_COMPLEX" and original is None:
        message = _shape_refusal(message) or message
    if code in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED") and not isinstance(
        original, DomainError
    ):
        message = without_input(message)
        coerced = coercion_errors(message) if code == "BAD_USER_INPUT" else None
        if coerced is not None:
            extensions["errors"] = [
                {"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in coerced
            ]
            suggestion = _SUGGESTION.search(message)  # kept in development, as before
            message = "The request is not valid: " + "; ".join(
                f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in coerced
            )
            message += "." + suggestion.group(0) if suggestion else ""
    if hide_suggestions:
        message = _SUGGESTION.sub("", message)
    if isinstance(original, Unavailable):
        log_unavailable(original, request_id)
        extensions["retry_after"] = original.retry_after
    if code == "INTERNAL":
        _logger.error(
            "unhandled error in %s [request_id=%s]",
            ".".join(map(str, error.path or [])),
            request_id,
            exc_info=original,
        )
        if mask_unexpected:
            message = MASKED_MESSAGE
            extensions["request_id"] = request_id
            original = None
    return GraphQLError(
        # Whatever a message quotes (a field name, a literal, an id), it stays short.
        clip(message, MAX_MESSAGE),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions=extensions,
    )
