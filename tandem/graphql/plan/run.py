"""Awaiting what completers find: every awaitable of a pass together, so loaders batch.

A completer that meets an awaitable (a resolver's coroutine, a DataLoader's future)
keeps its place in the response and hands it here with what to do with the value.
`drain` awaits all of them at once, as graphql-core's `gather` does, so every load a
pass asked for goes out in one batch; completing their values may find more, which
are the next pass. The first failure cancels the rest (graphql-core's
`gather_with_cancel`) and goes up to the executor, which hands the field back to
graphql-core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel


class Run:
    """The awaitables one completion found, with where their values go."""

    __slots__ = ("executor", "is_awaitable", "pending")

    def __init__(self, executor: Any) -> None:
        self.executor = executor  # graphql-core's, for this operation: infos, variables
        self.is_awaitable: Callable[[Any], bool] = executor.is_awaitable
        self.pending: list[tuple[Awaitable[Any], Any, Any, Any, Path | None]] = []

    def later(
        self, awaitable: Awaitable[Any], complete: Any, out: Any, key: Any, path: Path | None
    ) -> None:
        out[key] = None  # the key keeps its place in the response
        self.pending.append((awaitable, complete, out, key, path))

    async def drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            if len(batch) == 1:
                values = [await batch[0][0]]
            else:
                values = await gather_with_cancel(*(entry[0] for entry in batch))
            for (_, complete, out, key, path), value in zip(batch, values, strict=True):
                complete(value, out, key, path, self)

    def close(self) -> None:
        """Close coroutines never awaited (a completion that failed before draining)."""
        for awaitable, *_ in self.pending:
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()
        self.pending = []
