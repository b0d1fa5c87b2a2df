"""A block cancelled in the middle of a statement gives back no connection holding locks.

asyncpg runs a statement it has not prepared on that connection yet in two steps:
Parse/Describe/Flush, then Bind/Execute/Sync. Between them the server is inside an
implicit transaction (pg_stat_activity: active, ClientRead) holding the locks parsing
took, until a Sync. The pool's reset is a no-op (`_keep_session`, no round trip), so a
block cancelled in that gap (a subscription ended while its token recheck ran, a
request whose client went away) puts the connection back with its locks held until
the connection is next used; an idle pool may never use it. A TRUNCATE, a migration's
ALTER, any ACCESS EXCLUSIVE lock then waits on it (seen: the test teardown's TRUNCATE
timing out after test_at_most_twenty_subscriptions_per_connection, a realtime server's
pooled connections holding token_families/users/revoked_access_tokens for > 60 s).
"""

from __future__ import annotations

import asyncio

import asyncpg

from tandem.persistence.database import asyncpg_dsn

_QUERY = "SELECT count(*) FROM users u JOIN token_families f ON f.user_id = u.id WHERE u.id = $1"
_HELD = (
    "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
    " WHERE c.relname IN ('users', 'token_families') AND l.database = ("
    "SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def test_a_block_cancelled_between_prepare_and_execute_leaves_no_locks(services):
    database = services.database
    started = asyncio.Event()

    async def read() -> None:
        async with database.reader() as uow:
            await uow.connection.raw.prepare(_QUERY)  # Parse/Describe/Flush, as a fetch's first
            started.set()
            await asyncio.sleep(60)  # cancelled here, before Bind/Execute/Sync

    task = asyncio.create_task(read())
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    observer = await asyncpg.connect(asyncpg_dsn(database.url))
    try:
        held = [row["pid"] for row in await observer.fetch(_HELD)]
        # The teardown's TRUNCATE must not wait on them, whatever the outcome here.
        for pid in held:
            await observer.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await observer.close()
    assert held == [], f"backends {held} hold locks for a block that was cancelled"
