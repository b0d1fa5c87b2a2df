"""What one HTTP request did, gathered as it runs: statements, principal, GraphQL operation.

A context variable holds the request's record; the tasks a request starts (DataLoader
batches, a batch's operations) inherit the same record, so their statements count too.
This module imports nothing else from Tandem: any layer may note what it knows.
"""

from __future__ import annotations

import re
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

# A GraphQL name (the spec's Name); anything else is not an operation name worth a label.
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
# Operation names are chosen by clients: past this many distinct ones a process labels the
# rest "other", so no client can grow the metrics without bound.
MAX_OPERATION_NAMES = 200
_seen_names: set[str] = set()


@dataclass(slots=True)
class Operation:
    name: str | None
    type: str  # query, mutation, subscription


@dataclass(slots=True)
class RequestRecord:
    statements: int = 0
    principal_id: int | None = None
    client_id: str | None = None  # the partner API client calling for principal_id, if any
    operations: list[Operation] = field(default_factory=list)


_CURRENT: ContextVar[RequestRecord | None] = ContextVar("tandem_request_record", default=None)


def begin() -> tuple[RequestRecord, Token[RequestRecord | None]]:
    """Start the record of the request this task is answering."""
    record = RequestRecord()
    return record, _CURRENT.set(record)


def end(token: Token[RequestRecord | None]) -> None:
    _CURRENT.reset(token)


def count_statement(sql: str) -> None:
    """A Database observer: one more statement for the current request, if any."""
    record = _CURRENT.get()
    if record is not None:
        record.statements += 1


def note_principal(user_id: int | None, client_id: str | None = None) -> None:
    """The guard's verdict: who is calling (None: anonymous), and through which client."""
    record = _CURRENT.get()
    if record is not None:
        record.principal_id = user_id
        record.client_id = client_id


def note_operation(name: str | None, operation_type: str) -> None:
    """A GraphQL operation about to execute (several for a batch)."""
    record = _CURRENT.get()
    if record is not None:
        record.operations.append(Operation(name, operation_type))


def operation_labels(record: RequestRecord) -> tuple[str, str]:
    """(operation_name, operation_type) labels, with a bounded set of names."""
    operations = record.operations
    if not operations:
        return "unknown", "unknown"  # refused before execution: parse, validation, limits
    if len(operations) > 1:
        types = {operation.type for operation in operations}
        return "batch", types.pop() if len(types) == 1 else "mixed"
    operation = operations[0]
    return bounded_name(operation.name), operation.type


def bounded_name(name: str | None) -> str:
    if name in _seen_names:  # a name seen before was a valid one: no need to match it again
        return name
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "invalid"
    if len(_seen_names) >= MAX_OPERATION_NAMES:
        return "other"
    _seen_names.add(name)
    return name
