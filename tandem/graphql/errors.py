"""Domain errors as GraphQL errors with `extensions.code`; unexpected ones masked, logged once."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from tandem.domain.errors import DomainError, ValidationFailed

_logger = logging.getLogger("tandem.graphql")

GRAPHQL_CODES = {"VALIDATION_FAILED": "BAD_USER_INPUT"}
MASKED_MESSAGE = "Something went wrong on our side; quote the request id if you report it."


def _code_for(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, DomainError):
        return GRAPHQL_CODES.get(original.code, original.code)
    if original is None:
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        if error.path is None and error.message.startswith("Variable"):
            return "BAD_USER_INPUT"
        return "GRAPHQL_VALIDATION_FAILED"
    if error.path is None:  # a scalar that refused a literal or variable during validation
        return "BAD_USER_INPUT"
    return "INTERNAL"


class ErrorCodes(SchemaExtension):
    """Give every error a stable code; hide the text of unexpected ones outside development."""

    def __init__(self, *, mask_unexpected: bool) -> None:
        self.mask_unexpected = mask_unexpected

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._coded(error) for error in result.errors]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        code = _code_for(error)
        extensions = {**(error.extensions or {}), "code": code}
        original = error.original_error
        if isinstance(original, ValidationFailed):
            extensions["errors"] = [
                {"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in original.errors
            ]
        message = error.message
        if code == "INTERNAL":
            request_id = getattr(self.execution_context.context, "request_id", None)
            _logger.error(
                "unhandled error in %s [request_id=%s]",
                ".".join(map(str, error.path or [])),
                request_id,
                exc_info=original,
            )
            if self.mask_unexpected:
                message = MASKED_MESSAGE
                extensions["request_id"] = request_id
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None if code == "INTERNAL" and self.mask_unexpected else original,
            extensions=extensions,
        )
