"""EXPLAIN (ANALYZE) the list statements Tandem really sends, on the bench data set.

    .venv/bin/python -m bench.seed --items 100000   # once
    .venv/bin/python -m bench.explain_search [--generic]

The statements are the repository's own compiled SQL (so the plans are those of
the code, not of a hand-written look-alike), run as a member who is not an
admin, through a prepared statement as asyncpg runs them. `--generic` forces
PostgreSQL's generic plan (what a prepared statement may switch to after five
runs), to show that the indexes still serve it. BENCH_DATABASE_URL picks
another server, as for bench.seed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import asyncpg

from bench.seed import DATA_DIR, DATABASE, asyncpg_dsn
from tandem.domain.items.records import ItemFilters, ItemSort
from tandem.domain.principal import Viewer
from tandem.persistence.items import lists

VIEWER = Viewer(user_id=2, is_admin=False)
CASES: list[tuple[str, ItemFilters, ItemSort]] = [
    ("a substring (`amp`), newest first", ItemFilters(q="amp"), ItemSort.CREATED_AT_DESC),
    ("a typo (`walnutt`), newest first", ItemFilters(q="walnutt"), ItemSort.CREATED_AT_DESC),
    ("two words, by relevance", ItemFilters(q="oak lamp"), ItemSort.RELEVANCE),
    ("an emoji (`🍵`), newest first", ItemFilters(q="🍵"), ItemSort.CREATED_AT_DESC),
]


def _url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    from tandem.persistence import embedded

    return embedded.start(DATA_DIR).url(DATABASE)


async def _literal(connection: asyncpg.Connection, value: Any) -> str:
    """A value as SQL text (EXECUTE takes no bound parameters), quoted by the server."""
    if isinstance(value, int):
        return str(value)
    quoted: str = await connection.fetchval("SELECT quote_literal($1::text)", str(value))
    return quoted


async def explain(generic: bool) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(_url()))
    try:
        if generic:
            await connection.execute("SET plan_cache_mode = force_generic_plan")
        count = await connection.fetchval("SELECT count(*) FROM items")
        print(f"-- {count} items; plan_cache_mode={'generic' if generic else 'auto'}")
        for title, filters, sort in CASES:
            shape, params = lists.shape_and_params(VIEWER, filters)
            layout = lists.Layout(scored=sort is ItemSort.RELEVANCE)
            query = lists.keyset_page(VIEWER.is_admin, shape, sort, False, False, layout, 21)
            args: list[Any] = query.args({**params, "limit": 21})
            await connection.execute(f"PREPARE page AS {query.sql}")
            try:
                listed = ", ".join([await _literal(connection, arg) for arg in args])
                rows = await connection.fetch(
                    f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE page({listed})"
                )
            finally:
                await connection.execute("DEALLOCATE page")
            print(f"\n-- {title}")
            print("\n".join(row[0] for row in rows))
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_search", description=__doc__)
    parser.add_argument("--generic", action="store_true", help="force the generic plan")
    asyncio.run(explain(parser.parse_args().generic))


if __name__ == "__main__":
    main()
