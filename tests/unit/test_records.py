"""Rows become records by column name (tandem/persistence/records.py), without `__init__`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tandem.domain.items.records import ItemRecord
from tandem.domain.users.records import UserRecord
from tandem.persistence.items import lists
from tandem.persistence.records import maker, names_of
from tandem.persistence.users import repository as users

NOW = datetime(2026, 12, 7, tzinfo=UTC)
ITEM = ItemRecord(7, "Lamp", None, Decimal("3.50"), ["x"], "published", 2, NOW, NOW, 4)
OWNER = UserRecord(2, "ada@example.com", "Ada", "member", True, NOW, NOW)


def test_a_made_record_equals_the_one_init_makes_from_the_same_columns():
    row = tuple(getattr(ITEM, name) for name in lists.ITEM_NAMES)
    made = maker(ItemRecord, lists.ITEM_NAMES)(row)
    assert made == ITEM
    assert made.rank is None  # no column: its default
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.title = "changed"  # type: ignore[misc]


def test_columns_are_matched_by_name_not_by_position():
    names = tuple(reversed(names_of(users.COLUMNS)))
    row = ("ignored", *(getattr(OWNER, name) for name in names))
    assert maker(UserRecord, names, start=1)(row) == OWNER


def test_a_list_row_makes_its_item_rank_and_owner():
    scored = lists.Layout(scored=True, owners=True)
    row = (
        *(getattr(ITEM, name) for name in lists.ITEM_NAMES),
        0.5,
        *(getattr(OWNER, name) for name in names_of(users.COLUMNS)),
    )
    assert scored.item(row) == dataclasses.replace(ITEM, rank=0.5)
    assert scored.owner(row) == OWNER


def test_a_field_with_no_column_and_no_default_is_refused_by_name():
    with pytest.raises(TypeError, match=r"UserRecord\.updated_at has no column and no default"):
        maker(UserRecord, names_of(users.COLUMNS)[:-1])
    with pytest.raises(TypeError, match="no field colour"):
        maker(UserRecord, (*names_of(users.COLUMNS), "colour"))


def test_a_class_with_post_init_or_without_slots_is_refused():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            assert self.n >= 0

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        n: int

    for cls in (Checked, Unslotted):
        with pytest.raises(TypeError, match="slotted dataclass"):
            maker(cls, ("n",))


def test_a_partial_maker_leaves_the_fields_without_a_column_unset() -> None:
    """A list that reads only some columns makes records whose other fields fail to read."""
    make = maker(ItemRecord, ("id", "title"), start=1, partial=True)
    item = make(("ignored", 7, "Lamp"))
    assert (item.id, item.title, item.rank) == (7, "Lamp", None)  # rank: its default
    with pytest.raises(AttributeError):
        _ = item.price
    with pytest.raises(TypeError, match="has no column and no default"):
        maker(ItemRecord, ("id", "title"))
