"""A page of items is planned once per connection, not at every execution.

PostgreSQL plans a prepared statement for its values five times, then keeps its generic
plan if that costs no more. It prices `LIMIT $n` for a tenth of the table, so a page
whose limit is bound never took the generic plan and was planned again at every
execution, at more CPU than running it. The list statements write their limit
(tandem/persistence/items/lists.py); a search keeps it bound, planned for its words.
"""

from __future__ import annotations

from tandem.domain.items.records import DEFAULT_SORT, ItemFilters
from tandem.domain.principal import Viewer
from tandem.persistence.items import lists
from tests.factories import make_account

_PLANS = "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1"


async def _pages(services, viewer: Viewer, filters: ItemFilters) -> list[dict[str, int]]:
    async with services.database.reader() as uow:
        for _ in range(8):
            rows = await uow.items.keyset_page(
                viewer, filters, sort=DEFAULT_SORT, position=None, limit=21, owners=True
            )
            assert len(rows.rows) == 21
        shape, _ = lists.shape_and_params(viewer, filters)
        layout = lists.layout(False, True)
        query = lists.keyset_page(False, shape, DEFAULT_SORT, False, False, layout, 21)
        plans = await uow.connection.raw.fetch(_PLANS, query.sql)
    return [dict(plan) for plan in plans]


async def test_a_page_of_items_takes_its_generic_plan_after_five_executions(client, services):
    account = await make_account(services, client)
    async with services.database.transaction() as uow:  # enough rows for a tenth to matter
        await uow.connection.raw.execute(
            "INSERT INTO items (owner_id, title) SELECT $1, 'Lamp ' || n"
            " FROM generate_series(1, 2000) AS n",
            account.id,
        )
    async with services.database.reader() as uow:
        await uow.connection.raw.execute("ANALYZE items")
    viewer = Viewer(user_id=account.id, is_admin=False)

    (plan,) = await _pages(services, viewer, ItemFilters())
    assert plan["generic_plans"] >= 2, plan  # from the 6th execution on
