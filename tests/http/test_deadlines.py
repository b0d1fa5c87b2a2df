"""RequestContext's deadlines: one timer for every request in flight, each request stopped at
its own deadline (the 503 it then answers is tests/security/test_api4_resource_consumption.py's)."""

from __future__ import annotations

import asyncio

from tandem.http.middleware import Deadlines

SECONDS = 0.05


async def request(deadlines: Deadlines, seconds: float) -> tuple[str, float]:
    """A request as RequestContext runs one: what became of it, and how long it ran."""
    loop = asyncio.get_running_loop()
    task = deadlines.enter()
    started = loop.time()
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        assert deadlines.stopped(task)
        assert deadlines.leave(task)
        task.uncancel()
        return "stopped", loop.time() - started
    assert not deadlines.leave(task)
    return "done", loop.time() - started


async def test_each_request_is_stopped_at_its_own_deadline_and_no_sooner() -> None:
    deadlines = Deadlines(SECONDS)
    slow = asyncio.create_task(request(deadlines, 30))
    await asyncio.sleep(SECONDS / 2)
    fast = asyncio.create_task(request(deadlines, SECONDS / 5))
    later = asyncio.create_task(request(deadlines, 30))
    (first, ran_first), (second, _), (third, ran_third) = await asyncio.gather(slow, fast, later)
    assert (first, second, third) == ("stopped", "done", "stopped")
    assert SECONDS * 0.9 <= ran_first < SECONDS * 10
    assert SECONDS * 0.9 <= ran_third < SECONDS * 10
    # Nothing in flight any more: the next request is given its time afresh.
    assert (await request(deadlines, 30))[0] == "stopped"
    assert (await request(deadlines, 0))[0] == "done"


async def test_a_request_that_ends_in_time_leaves_its_task_uncancelled() -> None:
    deadlines = Deadlines(SECONDS)
    assert (await request(deadlines, SECONDS / 5))[0] == "done"
    task = asyncio.current_task()
    assert task is not None
    await asyncio.sleep(SECONDS * 2)  # past the deadline the request had: nothing happens
    assert task.cancelling() == 0
