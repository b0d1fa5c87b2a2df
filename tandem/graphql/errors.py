"""Domain errors as GraphQL errors with `extensions.code`; unexpected ones masked, logged once.

Applied where every result passes, the HTTP view's `process_result`, because parse
errors never reach a schema extension's post-processing.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError

from tandem.domain.errors import DomainError, ValidationFailed

_logger = logging.getLogger("tandem.graphql")

GRAPHQL_CODES = {"VALIDATION_FAILED": "BAD_USER_INPUT"}
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
        return "GRAPHQL_VALIDATION_FAILED"
    if error.path is None:  # a scalar that refused a literal or variable during validation
        return "BAD_USER_INPUT"
    return "INTERNAL"


def with_code(
    error: GraphQLError, *, request_id: str | None, mask_unexpected: bool
) -> GraphQLError:
    """The error with a stable `extensions.code`; an unexpected one is logged here, once."""
    code = code_for(error)
    extensions = {**(error.extensions or {}), "code": code}
    original = error.original_error
    if isinstance(original, ValidationFailed):
        extensions["errors"] = [
            {"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in original.errors
        ]
    message = error.message
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
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions=extensions,
    )
