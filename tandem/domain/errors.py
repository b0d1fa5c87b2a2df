"""One transport-neutral error hierarchy; each face renders the stable `code` its own way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input: where (`loc`), why (`msg`), and a machine-readable `type`."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


QUOTE_LIMIT = 100


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """At most `limit` characters of what a client sent, for quoting in an error message."""
    return text if len(text) <= limit else text[:limit] + "…"


class DomainError(Exception):
    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(
        self, message: str, *, kind: str | None = None, id: int | str | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind  # with `id`: which record, so each face can name it by its own id
        self.id = id

    @classmethod
    def missing(cls, kind: str, id: int | str) -> NotFound:
        """`No item with id 9999.`: the one wording of a missing record, on both faces."""
        return cls(missing_message(kind, id), kind=kind, id=id)


def missing_message(kind: str, shown_id: object) -> str:
    return f"No {kind} with id {shown_id}."


class Conflict(DomainError):
    code = "CONFLICT"


class PreconditionFailed(DomainError):
    code = "PRECONDITION_FAILED"


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors))
        self.errors = errors

    @classmethod
    def one(
        cls, loc: tuple[str | int, ...], msg: str, type: str = "value_error"
    ) -> ValidationFailed:
        return cls([FieldError(loc, msg, type)])


class Unavailable(DomainError):
    """A dependency (the database) cannot serve now; the client should retry after a while."""

    code = "UNAVAILABLE"

    def __init__(self, message: str, *, retry_after: int = 5, cause: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.cause = cause  # for the one log line: what failed, never shown to clients


class InvalidToken(Unauthenticated):
    """A bearer token that is malformed, expired, revoked or not ours."""


class InvalidGrant(DomainError):
    """An OAuth grant (password, refresh token) that cannot be honoured."""

    code = "UNAUTHENTICATED"


class InvalidClient(DomainError):
    """RFC 6749 `invalid_client`: an unknown client, or a wrong secret."""

    code = "UNAUTHENTICATED"


class IdempotencyKeyInUse(DomainError):
    """A request with this Idempotency-Key is still in flight."""

    code = "IDEMPOTENCY_KEY_IN_USE"


class IdempotencyKeyReused(DomainError):
    """This Idempotency-Key was first sent with another request."""

    code = "IDEMPOTENCY_KEY_REUSED"
