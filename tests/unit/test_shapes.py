"""One definition per shape: every face and every derived table agree with the item's record.

Each assertion names the place to change (docs/adding-a-field.md walks through them), so
a field added to `ItemRecord`, or a filter added to `ItemFilters`, that one face forgot
fails here, in seconds, before any database starts.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql
from strawberry.types.base import get_object_definition

from tandem.api.items.schemas import ItemCreate, ItemFilterQuery, ItemOut, ItemUpdate
from tandem.domain.events.documents import item_event
from tandem.domain.events.records import EventType
from tandem.domain.items import cursors
from tandem.domain.items.commands import CreateItem, ItemQuery, UpdateItem
from tandem.domain.items.records import DOCUMENT, FILTERS, ItemFilters, ItemRecord
from tandem.domain.items.rules import FIELD_RULES, filter_rule
from tandem.domain.principal import Viewer
from tandem.domain.values import UNSET
from tandem.graphql.items.inputs import (
    CreateItemInput,
    ItemFilter,
    UpdateItemInput,
    update_command,
)
from tandem.graphql.items.types import Item
from tandem.persistence.items import lists

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
RECORD_FIELDS = [entry.name for entry in dataclasses.fields(ItemRecord)]
PUBLIC = list(DOCUMENT.fields)  # the record's public fields, in the JSON's order


def graphql_fields(kind: type) -> list[str]:
    return [field.python_name for field in get_object_definition(kind, strict=True).fields]


def missing(expected: list[str], present: list[str]) -> list[str]:
    return [name for name in expected if name not in present]


def sample(hint: Any) -> Any:
    """A value of a field's type, for filters and records built here."""
    options = typing.get_args(hint) or (hint,)
    for option in options:
        if option is int:
            return 7
        if option is str:
            return "sample"
        if option is Decimal:
            return Decimal("1.50")
        if option is datetime:
            return NOW
        if typing.get_origin(option) is list:
            return ["a"]
    raise AssertionError(f"no sample for {hint}")


def a_record() -> ItemRecord:
    hints = typing.get_type_hints(ItemRecord)
    values = {name: sample(hints[name]) for name in RECORD_FIELDS if name != "rank"}
    values["status"] = "published"
    return ItemRecord(**values)


def test_the_rest_answer_lists_every_public_field_in_the_records_order():
    expected, listed = list(DOCUMENT.keys), list(ItemOut.model_fields)
    assert not missing(listed, expected), (
        "tandem/domain/items/records.py: ItemRecord lacks fields ItemOut lists: "
        f"{missing(listed, expected)}"
    )
    assert listed == expected, (
        "tandem/api/items/schemas.py: ItemOut must list the record's public fields in its "
        f"order; missing {missing(expected, listed)}"
    )


def test_the_graphql_item_has_every_public_field():
    # The record's `id` is `databaseId` (and `id` the global id); `owner_id` is `owner`.
    renamed = {"id": "database_id", "owner_id": "owner"}
    expected = [renamed.get(name, name) for name in PUBLIC]
    absent = missing(expected, graphql_fields(Item))
    assert not absent, f"tandem/graphql/items/types.py: Item lacks {absent}"
    plain = [
        field.python_name
        for field in get_object_definition(Item, strict=True).fields
        if field.base_resolver is None and field.python_name not in ("id", "owner")
    ]
    unknown = missing(plain, [renamed.get(name, name) for name in RECORD_FIELDS])
    assert not unknown, (
        f"tandem/domain/items/records.py: ItemRecord lacks {unknown}, which Item reads off it"
    )


def test_the_event_carries_the_rest_document():
    """Stored under the record's own names (read back by `decode`), shown under the REST
    answer's keys (the item's `version` is public as `revision`)."""
    record = a_record()
    data = item_event(EventType.ITEM_UPDATED, record).data["item"]
    assert list(data) == list(DOCUMENT.stored_keys)
    assert DOCUMENT.decode(data) == record, "the event's item must read back as the record"
    created = item_event(EventType.ITEM_CREATED, record).data["item"]
    assert created == DOCUMENT.encode(record)
    shown = DOCUMENT.publish(data)
    assert list(shown) == list(DOCUMENT.keys) == list(ItemOut.model_fields)
    assert shown == DOCUMENT.encode_native(record) | {
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
    }


def test_the_statements_select_every_stored_field_by_name():
    selected = [column.key for column in lists.COLUMNS]
    assert selected == [name for name in RECORD_FIELDS if name != "rank"]


@pytest.mark.parametrize(
    ("command", "rest", "graphql"),
    [(CreateItem, ItemCreate, CreateItemInput), (UpdateItem, ItemUpdate, UpdateItemInput)],
)
def test_both_faces_take_exactly_the_fields_of_the_command(command, rest, graphql):
    names = [entry.name for entry in dataclasses.fields(command)]
    assert not missing(names, RECORD_FIELDS), (
        f"tandem/domain/items/commands.py: {command.__name__} names a field ItemRecord lacks"
    )
    for place, kind, taken in (
        ("tandem/api/items/schemas.py", rest, list(rest.model_fields)),
        ("tandem/graphql/items/inputs.py", graphql, graphql_fields(graphql)),
    ):
        assert sorted(taken) == sorted(names), (
            f"{place}: {kind.__name__} must take the fields of {command.__name__} "
            f"(tandem/domain/items/commands.py); it lacks {missing(names, taken)}, "
            f"and {command.__name__} lacks {missing(taken, names)}"
        )


def test_every_writable_field_has_its_rule():
    names = [entry.name for entry in dataclasses.fields(CreateItem)]
    assert sorted(FIELD_RULES) == sorted(names), (
        "tandem/domain/items/rules.py: FIELD_RULES must name the rule of each field of "
        f"CreateItem; missing {missing(names, list(FIELD_RULES))}"
    )


def test_both_faces_offer_exactly_the_filters():
    names = [entry.name for entry in FILTERS]
    for place, kind, offered in (
        ("tandem/api/items/schemas.py", ItemFilterQuery, list(ItemFilterQuery.model_fields)),
        ("tandem/graphql/items/inputs.py", ItemFilter, graphql_fields(ItemFilter)),
    ):
        assert offered == names, (
            f"{place}: {kind.__name__} must offer the filters of ItemFilters "
            f"(tandem/domain/items/records.py), in order; it lacks {missing(names, offered)}, "
            f"and ItemFilters lacks {missing(offered, names)}"
        )


def filter_sample(name: str) -> Any:
    hints = typing.get_type_hints(ItemFilters)
    return "published" if name == "status" else sample(hints[name])


@pytest.mark.parametrize("name", [entry.name for entry in FILTERS])
def test_every_filter_is_in_the_cursors_fingerprint(name: str):
    given = ItemFilters(**{name: filter_sample(name)})
    assert cursors.fingerprint(given) != cursors.fingerprint(ItemFilters()), (
        f"tandem/domain/items/cursors.py: the fingerprint ignores the filter {name!r}"
    )


@pytest.mark.parametrize("entry", [e for e in FILTERS if e.test != "search"], ids=str)
def test_every_filter_narrows_the_statement(entry):
    viewer = Viewer(user_id=1, is_admin=True)
    shape, params = lists.shape_and_params(
        viewer, ItemFilters(**{entry.name: filter_sample(entry.name)})
    )
    statement = lists.filtered(lists.selected(lists.Layout()), True, shape)
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert f"%({entry.name})s" in sql and entry.name in params, (
        f"tandem/persistence/items/lists.py: the statement ignores the filter {entry.name!r}"
    )


@pytest.mark.parametrize("entry", FILTERS, ids=str)
def test_every_filter_that_compares_a_field_is_checked_by_its_rule(entry):
    if entry.test == "equals" and entry.column in FIELD_RULES:
        assert filter_rule(entry) is FIELD_RULES[entry.column]


def test_a_graphql_update_carries_every_field_it_sets():
    names = [entry.name for entry in dataclasses.fields(UpdateItem)]
    command = update_command(UpdateItemInput(**dict.fromkeys(names)))
    dropped = [name for name in names if getattr(command, name) is not None]
    assert not dropped, f"tandem/graphql/items/inputs.py: update_command drops {dropped}"
    untouched = update_command(UpdateItemInput())
    assert all(getattr(untouched, name) is UNSET for name in names)


def test_a_query_is_its_filters_and_an_order():
    assert [entry.name for entry in dataclasses.fields(ItemQuery)] == [
        *(entry.name for entry in FILTERS),
        "sort",
    ]
