"""The per-request metrics, kept in plain Python and folded into prometheus_client's.

Every HTTP request observes three histograms (its duration, its GraphQL operation's, its
statements) and moves the in-flight gauge twice. Through prometheus_client each is a
locked increment of a sum and of a bucket (or of the gauge), one file write each in
multiprocess mode: 8 locked increments a request. Here a finished request only appends
one tuple of plain values to a list (untracked by the garbage collector once seen, like
the request log's lines), and a begun one adds 1 to an int. `settle` folds what is
pending into the same prometheus_client children, a bucket found by bisection, the sum
added in the requests' order: `/metrics` shows exactly what `observe` would have shown.

It settles before every collection (the `/metrics` scrape, the worker's metrics port, any
read of the default registry: tandem/observability/metrics.py), once a second from a
timer on the event loop that answers the requests, whenever `PENDING_LIMIT` requests are
waiting, and at the process's exit. A scrape therefore reads its own process exactly;
under `--workers N` it reads the other workers' files as they last settled, at most about
`INTERVAL` seconds behind (a worker killed outright loses at most that last second).
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from bisect import bisect_left
from collections import defaultdict
from typing import Any

from prometheus_client import Histogram

from tandem.observability import metrics

INTERVAL = 1.0  # seconds between settles, so other workers' scrapes see this one's values
PENDING_LIMIT = 4096  # requests kept at most before settling, whatever the timer does
GRAPHQL_PATH = "/graphql"

# One finished request: method, route template, status, seconds, statements, and the
# GraphQL (operation_name, operation_type) labels, None for a request to another route.
Finished = tuple[str, str, int, float, int, tuple[str, str] | None]


class RequestMetrics:
    """One process's pending request metrics; `finished` is appended to by the requests."""

    def __init__(self) -> None:
        self.begun = 0  # requests begun, ever (the event loop's thread adds to it)
        self.finished: list[Finished] = []
        self._settled = 0  # requests finished and folded, ever
        self._in_flight_shown: int | None = None
        self._lock = threading.Lock()  # one settle at a time (a scrape may run on a thread)
        self._loop: asyncio.AbstractEventLoop | None = None  # where the timer runs
        # Each label set's child, found once: `labels()` takes a lock and checks its values.
        self._durations: dict[tuple[str, str, int], Histogram] = {}
        self._operations: dict[tuple[str, str], Histogram] = {}
        self._statements: dict[str, Histogram] = {}
        self._faces: dict[str, str] = {}

    def check(self, pending: int) -> None:
        """Called by a request that found `pending` requests waiting, itself included, when
        it is the first since a settle or one too many: the timer runs on this loop, and
        past the limit the requests settle now."""
        if pending >= PENDING_LIMIT:
            self.settle()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (called directly): the next collection settles
            return
        if self._loop is not loop or loop.is_closed():
            self._loop = loop
            loop.call_later(INTERVAL, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self.settle()
        finally:  # a failed settle (the event loop logs it) must not stop the timer
            if self._loop is loop:  # else a newer loop has its own timer
                loop.call_later(INTERVAL, self._tick, loop)

    def settle(self) -> None:
        """Fold every pending request into prometheus_client's metrics."""
        with self._lock:
            finished = self.finished
            count = len(finished)
            batch = finished[:count]  # a request finishing meanwhile appends after these
            del finished[:count]
            self._settled += count
            in_flight = self.begun - self._settled
            if in_flight != self._in_flight_shown:
                metrics.HTTP_REQUESTS_IN_FLIGHT.set(in_flight)
                self._in_flight_shown = in_flight
            if count:
                self._fold(batch)

    def _fold(self, batch: list[Finished]) -> None:
        durations: defaultdict[tuple[str, str, int], list[float]] = defaultdict(list)
        operations: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
        statements: defaultdict[str, list[float]] = defaultdict(list)
        faces = self._faces
        for method, route, status, seconds, count, operation in batch:
            durations[method, route, status].append(seconds)
            if operation is not None:
                operations[operation].append(seconds)
            face = faces.get(route)
            if face is None:
                face = faces[route] = _face(route)
            statements[face].append(count)
        for key, values in durations.items():
            child = self._durations.get(key)
            if child is None:
                method, route, status = key
                child = metrics.HTTP_REQUEST_DURATION.labels(method, route, str(status))
                self._durations[key] = child
            _observe(child, values)
        for labels, values in operations.items():
            child = self._operations.get(labels)
            if child is None:
                child = self._operations[labels] = metrics.GRAPHQL_REQUEST_DURATION.labels(*labels)
            _observe(child, values)
        for face, values in statements.items():
            child = self._statements.get(face)
            if child is None:
                child = self._statements[face] = metrics.DB_STATEMENTS_PER_REQUEST.labels(face)
            _observe(child, values)


def _face(route: str) -> str:
    if route == GRAPHQL_PATH:
        return "graphql"
    return "rest" if route.startswith("/api/") else "other"


def _observe(child: Histogram, values: list[float]) -> None:
    """`child.observe(value)` for each value, in order, with one write per bucket touched.

    The sum is added to one value at a time, as `observe` adds, so it is the same float;
    a value falls in the first bucket whose bound it does not exceed, as in `observe`.
    """
    histogram: Any = child  # prometheus_client's own fields (tests/http checks the result)
    bounds: list[float] = histogram._upper_bounds
    counts = [0] * len(bounds)
    total: float = histogram._sum.get()
    for value in values:
        counts[bisect_left(bounds, value)] += 1
        total += value
    histogram._sum.set(total)
    buckets = histogram._buckets
    for index, count in enumerate(counts):
        if count:
            buckets[index].inc(count)


REQUEST_METRICS = RequestMetrics()
metrics.before_collect(REQUEST_METRICS.settle)
atexit.register(REQUEST_METRICS.settle)  # a worker's last second, into its files
