"""Which database failures mean "unavailable, retry soon", and the one error they become.

A database that is down, restarting, out of connections, killing our backends,
or holding a lock past `lock_timeout` is not a bug of ours: the client hears
503 (`UNAVAILABLE`, with `Retry-After`), never 500, and the next request tries
again on a fresh connection. Anything else (a constraint we did not expect, a
syntax error) stays an error and is reported as one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import asyncpg

from tandem.domain.errors import Unavailable

# The connection broke, or could not be made: nothing was (or can be known to be) done.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.ConnectionDoesNotExistError,  # closed in the middle of an operation
    asyncpg.PostgresConnectionError,  # class 08, and asyncpg's connection failures
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: pg_terminate_backend, a fast shutdown
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    OSError,  # refused, reset, unreachable, DNS, and a connect that timed out
)
# asyncpg's InterfaceError also means misuse ("another operation is in progress"): a bug,
# which must stay loud. Only these messages of it mean the connection or pool is gone; "released
# back to the pool" is what a block's statement meets when the pool has already taken back a
# connection it saw die (a killed backend), before the statement could fail on it.
_GONE = ("connection is closed", "pool is closing", "pool is closed", "released back to the pool")

# The server gave up on a statement we sent: safe to report, the transaction is rolled back.
GAVE_UP: tuple[type[BaseException], ...] = (
    asyncpg.QueryCanceledError,  # 57014: statement_timeout (or a cancel)
    asyncpg.LockNotAvailableError,  # 55P03: lock_timeout
    asyncpg.IdleInTransactionSessionTimeoutError,  # 25P03
)


def is_connection_lost(error: BaseException) -> bool:
    if isinstance(error, CONNECTION_LOST):
        return True
    if isinstance(error, asyncpg.InternalClientError):
        # A backend killed while its connection sat idle leaves asyncpg consuming an error
        # that never ends (the server sent FATAL and hung up): the connection is dead,
        # though asyncpg has not closed it yet. Tandem never runs two statements on one
        # connection at once (tests/persistence), so this is that, not a misuse.
        return "another operation" in str(error)
    return isinstance(error, asyncpg.InterfaceError) and any(text in str(error) for text in _GONE)


@contextlib.contextmanager
def as_unavailable() -> Iterator[None]:
    """Inside this block, a database failure becomes the domain's UNAVAILABLE."""
    try:
        yield
    except Exception as error:
        if is_unavailable(error):
            raise unavailable(error) from error
        raise


def discard(raw: asyncpg.Connection) -> None:
    """Close a dead connection at once, so the pool replaces it instead of lending it again."""
    with contextlib.suppress(Exception):
        raw.terminate()


def is_unavailable(error: BaseException) -> bool:
    """A failure of the database's, not of our code's: answered 503, never 500."""
    return isinstance(error, GAVE_UP) or is_connection_lost(error)


def unavailable(error: BaseException) -> Unavailable:
    """The domain's UNAVAILABLE for a database failure, naming its kind for the log."""
    kind = type(error).__name__
    if isinstance(error, GAVE_UP):
        return Unavailable(
            "The database took too long to answer (a busy row, or a slow statement); "
            "try again shortly.",
            retry_after=1,
            cause=kind,
        )
    return Unavailable(
        "The database is unavailable right now; try again shortly.", retry_after=5, cause=kind
    )


def busy_pool(seconds: float) -> Unavailable:
    return Unavailable(
        "Every database connection is busy; try again shortly.",
        retry_after=1,
        cause=f"pool busy for {seconds:g} s",
    )


def search_took_too_long(seconds: float) -> Unavailable:
    """A search stopped at its own timeout (DB_SEARCH_TIMEOUT_SECONDS): the words say why."""
    return Unavailable(
        f"The search took longer than {seconds:g} s and was stopped; search for fewer or"
        " less common words, or narrow it with owner_id, status or tag.",
        retry_after=1,
        cause=f"search timeout {seconds:g} s",
    )
