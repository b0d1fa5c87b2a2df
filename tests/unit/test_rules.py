"""Input rules, cursors, global ids, limits and fault classes: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from graphql import parse

from tandem.domain import global_ids
from tandem.domain.errors import ValidationFailed
from tandem.domain.items import cursors
from tandem.domain.items.commands import ItemQuery
from tandem.domain.items.records import ItemFilters, ItemRecord, ItemSort, ItemStatus, sort_value
from tandem.domain.items.rules import check_query, clean_item_fields
from tandem.domain.pages import (
    MAX_PAGE_SIZE,
    check_first,
    check_page,
    decode_id_cursor,
    encode_id_cursor,
)
from tandem.domain.rate_limits import window
from tandem.graphql.limits import Limits, analyse, violations
from tandem.persistence.faults import is_connection_lost, is_unavailable, unavailable
from tests.factories import item_record

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def item(**changes: object) -> ItemRecord:
    return item_record(**{"id": 7, "title": "Lamp", "now": NOW, **changes})


def test_item_fields_are_trimmed_and_every_problem_is_reported_at_once():
    assert clean_item_fields({"title": "  Lamp  ", "tags": ["a", "a", "b"]}) == {
        "title": "Lamp",
        "tags": ["a", "b"],
    }
    with pytest.raises(ValidationFailed) as raised:
        clean_item_fields({"title": "", "price": Decimal("1.001"), "status": "lost"})
    assert [e.loc for e in raised.value.errors] == [("title",), ("price",), ("status",)]


def test_a_query_is_checked_against_the_one_vocabulary():
    check_query(ItemQuery(status=ItemStatus.DRAFT, sort=ItemSort.PRICE_DESC))
    with pytest.raises(ValidationFailed):
        check_query(ItemQuery(status="lost", sort=ItemSort.TITLE_ASC))
    with pytest.raises(ValidationFailed):
        check_query(ItemQuery(sort="-owner"))  # type: ignore[arg-type]


@pytest.mark.parametrize("sort", list(ItemSort))
def test_a_cursor_names_its_row_its_sort_and_its_filters(sort: ItemSort):
    row = item(price=Decimal("9.50"), title="Desk", rank=4.25)
    filters = ItemFilters(q="desk")
    position = cursors.decode(cursors.encode(row, sort, filters), sort, filters, loc=("after",))
    assert position.id == row.id
    assert position.value == sort_value(row, sort)
    other = next(s for s in ItemSort if s is not sort)
    with pytest.raises(ValidationFailed):
        cursors.decode(cursors.encode(row, sort, filters), other, filters, loc=("after",))
    with pytest.raises(ValidationFailed):
        cursors.decode(cursors.encode(row, sort, filters), sort, ItemFilters(), loc=("after",))


def test_garbage_is_not_a_cursor():
    for garbage in ("", "!!", "eyJ9", encode_id_cursor(5)):
        with pytest.raises(ValidationFailed):
            cursors.decode(garbage, ItemSort.CREATED_AT_DESC, ItemFilters(), loc=("after",))
    assert decode_id_cursor(encode_id_cursor(5)) == 5


def test_global_ids_round_trip_and_refuse_garbage():
    assert global_ids.decode(global_ids.encode("Item", 42)) == ("Item", 42)
    assert global_ids.decode_as(global_ids.encode("User", 3), "Item") is None
    assert global_ids.decode("not base64!") is None
    assert global_ids.decode(global_ids.encode("Item", 10**19)) is None


def test_pages_are_bounded():
    check_page(1, MAX_PAGE_SIZE)
    check_first(1)
    for call in (lambda: check_page(0, 20), lambda: check_page(1, 101), lambda: check_first(0)):
        with pytest.raises(ValidationFailed):
            call()


def test_the_node_budget_is_the_product_of_firsts_down_each_path():
    document = "{ items(first: 50) { nodes { owner { items(first: 10) { totalCount } } } } }"
    analysis = analyse(parse(document), None, None, {})
    assert analysis is not None
    assert analysis.nodes == 50 + 50 * 10
    assert violations(analysis, Limits(max_nodes=100)) == [
        "it could return 550 nodes; the budget is 100"
    ]


def test_variables_enter_the_analysis_with_their_defaults():
    document = "query($n: Int = 30) { items(first: $n) { totalCount } }"
    analysis = analyse(parse(document), None, None, {})
    assert analysis is not None and analysis.nodes == 30
    analysis = analyse(parse(document), None, None, {"n": 7})
    assert analysis is not None and analysis.nodes == 7


def test_rate_limit_windows_are_aligned():
    assert window(3_601, 3_600) == (3_600, 7_200)


def test_database_failures_are_unavailable_and_bugs_are_not():
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    stuck = asyncpg.InternalClientError(
        "cannot switch to state 11; another operation (2) is in progress"
    )
    assert is_connection_lost(lost) and is_unavailable(lost)
    assert is_connection_lost(stuck)
    assert is_unavailable(asyncpg.LockNotAvailableError("lock timeout"))
    assert not is_unavailable(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_unavailable(asyncpg.InterfaceError("cannot call Connection.fetch(): bad"))
    assert unavailable(asyncpg.QueryCanceledError("timeout")).retry_after == 1
    assert unavailable(ConnectionRefusedError()).cause == "ConnectionRefusedError"
