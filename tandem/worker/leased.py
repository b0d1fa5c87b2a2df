"""The one loop that works a leased queue: webhook deliveries and mail both run on it.

It sleeps until the soonest job falls due (the queue says when, by the database's
clock), is woken at once by `wake()` (a NOTIFY on `tandem_jobs`, a job finishing),
and polls every `poll_seconds` anyway (a missed notification, a lost LISTEN
connection, a lease that ran out). It runs up to `concurrency` jobs at once and
claims only as many as it has room for; any number of workers share the queue
(see tandem/persistence/leased_queue.py). On stop, jobs in flight get `grace_seconds`
to finish; the rest are cancelled and their leases run out for another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from tandem.observability import tracing

NOT_SOONER = 0.02  # seconds: never spin when a due job is momentarily out of reach

Job = TypeVar("Job")


class LeasedJobs(Protocol[Job]):
    """What the loop needs of a queue (tandem/persistence/leased_queue.py implements it)."""

    async def claim(self, *, limit: int, lease_seconds: float, token: uuid.UUID) -> list[Job]: ...

    async def seconds_to_next_due(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    concurrency: int
    lease_seconds: float = 60.0
    poll_seconds: float = 5.0
    grace_seconds: float = 20.0  # on stop, how long jobs in flight may take to finish


class LeasedRunner(Generic[Job]):
    """Claim due jobs, run `handle` on each, and wake when one finishes or more are due."""

    def __init__(
        self,
        *,
        name: str,
        queue: LeasedJobs[Job],
        handle: Callable[[Job], Awaitable[None]],
        describe: Callable[[Job], str],
        policy: LeasePolicy,
        before_claim: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._log = logging.getLogger(f"tandem.worker.{name}")
        self._name = name
        self._queue = queue
        self._handle = handle
        self._describe = describe
        self._policy = policy
        self._before_claim = before_claim
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Work until cancelled; then let jobs in flight finish (within the grace)."""
        try:
            await self._loop()
        finally:
            await self._drain()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, late = await asyncio.wait(self._in_flight, timeout=self._policy.grace_seconds)
        for task in late:  # their leases run out and another worker takes them
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                if self._before_claim is not None:
                    await self._before_claim()
                wait = await self._claim_and_start()
            except Exception as error:  # the database is away: keep trying, never die
                self._log.warning("cannot claim %s (%s); retrying", self._name, error)
                wait = self._policy.poll_seconds
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    async def _claim_and_start(self) -> float:
        """Claim what there is room for; how long to wait before looking again (0: now)."""
        room = self._policy.concurrency - len(self._in_flight)
        if room <= 0:
            return self._policy.poll_seconds  # a finishing job wakes us
        claimed = await self._queue.claim(
            limit=room, lease_seconds=self._policy.lease_seconds, token=uuid.uuid4()
        )
        for job in claimed:
            task = asyncio.create_task(self._run(job))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        if len(claimed) == room:
            return 0.0  # perhaps more are due
        due = await self._queue.seconds_to_next_due()
        if due is None:
            return self._policy.poll_seconds
        return min(self._policy.poll_seconds, max(due, NOT_SOONER))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _run(self, job: Job) -> None:
        # Traced: the job's span continues the trace of the change that queued it.
        trace_context = getattr(job, "trace_context", None)
        try:
            with tracing.job_span(self._name, trace_context, **{"tandem.job": self._describe(job)}):
                await self._handle(job)
        except Exception:  # recorded nowhere else: the lease runs out and it is tried again
            self._log.exception("%s failed inside Tandem", self._describe(job))
