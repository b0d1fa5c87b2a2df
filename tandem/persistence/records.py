"""Rows become domain records by column name, in one generated function per shape.

A record is a frozen, slotted dataclass (tandem/domain/*/records.py), whose `__init__`
sets every field through `object.__setattr__`; a list of 50 items with their owners
builds 100 of them. `maker` writes, once per record class and column names, a function
that makes the record without `__init__`: each field is set through its slot from the
column of its name, a field without a column gets its default. timeit, an item from a
row of its 10 columns: 1.97 µs through `ItemRecord(*row[:10])`, 0.85 µs made.

A `partial` maker leaves the fields without a column unset, for a list that reads only
the columns its caller asked for (domain.pages.Reads): reading such a field raises
AttributeError, where a made-up value would pass for data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

R = TypeVar("R")


def maker(
    cls: type[R], names: Sequence[str], *, start: int = 0, partial: bool = False
) -> Callable[[Any], R]:
    """A function making a `cls` from a row whose columns from `start` on are its fields
    `names`, in that order; every other field of `cls` must have a default (`partial`: is
    left unset if it has none)."""
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [name for name in names if name not in fields]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
    if "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} must be a slotted dataclass with no __post_init__")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = ["def make(row):", "    record = new(cls)"]
    for name, field in fields.items():
        namespace[f"set_{name}"] = cls.__dict__[name].__set__  # the field's slot
        if name in names:
            lines.append(f"    set_{name}(record, row[{start + names.index(name)}])")
        elif field.default is not dataclasses.MISSING:
            namespace[f"default_{name}"] = field.default
            lines.append(f"    set_{name}(record, default_{name})")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"factory_{name}"] = field.default_factory
            lines.append(f"    set_{name}(record, factory_{name}())")
        elif not partial:
            raise TypeError(f"{cls.__name__}.{name} has no column and no default")
    lines.append("    return record")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the dataclass's own fields
    make: Callable[[Any], R] = namespace["make"]
    return make


def names_of(columns: Sequence[Any]) -> tuple[str, ...]:
    """The names of SQLAlchemy columns (a model's attributes), as a row's record takes them."""
    return tuple(column.key for column in columns)
