"""GraphQL over HTTP's media types: which one a client accepts, and what a request error is.

The spec (graphql.github.io/graphql-over-http) has two answers: clients that accept
`application/graphql-response+json` hear a request error (the document does not
parse or validate, the variables do not coerce) as `400` with no `data` entry;
clients that only know `application/json` hear it as `200`, as they always have.
"""

from __future__ import annotations

from strawberry.types import ExecutionResult

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# What each Accept entry may name, and the answer it asks for.
_ACCEPTED = {
    GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
    JSON: JSON,
    "application/*": JSON,
    "*/*": JSON,
}


def response_media_type(accept: str | None) -> str:
    """The media type to answer in: the client's most preferred one we speak, else JSON.

    Entries are weighed by `q` (RFC 9110 §12.5.1), ties kept in the client's order; an
    entry with `q=0` is refused. Nothing acceptable (or no header) means `application/json`,
    which the spec lets a server answer rather than `406`.
    """
    best, best_weight = JSON, 0.0
    for entry in (accept or "").split(","):
        media_type, _, parameters = entry.partition(";")
        answer = _ACCEPTED.get(media_type.strip().lower())
        if answer is None:
            continue
        weight = _weight(parameters)
        if weight > best_weight:
            best, best_weight = answer, weight
    return best


def _weight(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def is_request_error(result: ExecutionResult) -> bool:
    """True when nothing was executed: a parse, validation or coercion error, or a refusal.

    Such errors carry no `path` (no field was reached); an execution error whose null
    bubbled up to the root still has its field's path, and keeps `data: null`.
    """
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )
