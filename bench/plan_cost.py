"""What the planned GraphQL path saves, without HTTP: CPU per operation, planned and plain.

    .venv/bin/python -m bench.plan_cost [--operations 400]

Runs the bench's two GraphQL documents through Tandem's schema in one process
against the bench's database (seeded by `make bench`; run that once first), as the
bench's member, alternating planned and plain batches, and prints the process
CPU per operation for each. The database's own time is not in these figures, and
neither is HTTP, so they isolate what tandem/graphql/plan/ changes.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import uuid
from typing import Any

from bench.seed import DATA_DIR, DATABASE, PRINCIPAL_ID
from bench.targets import GRAPHQL_ITEM, GRAPHQL_ITEMS, global_id


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(operations: int) -> dict[str, dict[str, float]]:
    from tandem.app import services_for
    from tandem.config import Settings
    from tandem.domain.principal import LOGIN_SCOPES, Principal
    from tandem.domain.users.records import Role
    from tandem.graphql.context import Context
    from tandem.graphql.plan.executor import PlannedExecution
    from tandem.graphql.schema import build_schema
    from tandem.persistence import embedded
    from tandem.persistence.database import Database

    url = embedded.start(DATA_DIR).url(DATABASE)
    settings = Settings(database_url=url, secret_key="x" * 48, rate_limit="off")
    database = Database(url, pool_size=2)
    services = services_for(settings, database)
    schema = build_schema(development=False)
    principal = Principal(PRINCIPAL_ID, Role.MEMBER, LOGIN_SCOPES, uuid.uuid4())
    item = {"id": global_id("Item", 100)}
    documents: dict[str, tuple[str, dict[str, Any] | None]] = {
        "graphql-item": (GRAPHQL_ITEM, item),
        "graphql-list": (GRAPHQL_ITEMS, None),
    }
    results: dict[str, dict[str, float]] = {}
    try:
        for name, (query, variables) in documents.items():
            spent = {"planned": 0.0, "plain": 0.0}
            answers = {}
            for batch in range(8):
                mode = "planned" if batch % 2 == 0 else "plain"
                PlannedExecution.planning = mode == "planned"
                started = _cpu()
                for _ in range(operations // 4):
                    context = Context(
                        services=services, principal=principal, request_id=None, address=None
                    )
                    result = await schema.execute(
                        query, variable_values=variables, context_value=context
                    )
                    assert not result.errors, result.errors
                if batch >= 2:  # the first pair warms the caches
                    spent[mode] += _cpu() - started
                answers[mode] = result.data
            assert answers["planned"] == answers["plain"]
            count = 3 * (operations // 4)
            results[name] = {mode: 1000 * seconds / count for mode, seconds in spent.items()}
    finally:
        PlannedExecution.planning = True
        await database.dispose()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_cost", description=__doc__)
    parser.add_argument("--operations", type=int, default=400)
    args = parser.parse_args(argv)
    results = asyncio.run(_measure(args.operations))
    print("| document | plain ms/op | planned ms/op | saved |")
    print("| --- | ---: | ---: | ---: |")
    for name, spent in results.items():
        saved = 1 - spent["planned"] / spent["plain"]
        print(f"| {name} | {spent['plain']:.3f} | {spent['planned']:.3f} | {saved:.0%} |")


if __name__ == "__main__":
    main()
