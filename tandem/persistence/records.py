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

The fields are set on a *shell*: a plain class with the record class's own slots (so the
same layout), whose attributes are set by plain assignment; the shell then becomes the
record (`__class__` assigned, which Python allows between classes of one layout). Setting
a frozen record's slot otherwise takes a call of the slot's `__set__` per field (a tuple
of arguments made and unpacked each time): a list item of four columns cost 290-430 ns
made that way, 180 ns through the shell (timeit); the list of 50 builds 100 records. A
class whose layout the shell cannot take (checked once) is made the slower way.
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
    shell = _shell(cls)
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "Shell": shell}
    lines = ["def make(row):", "    record = new(cls)" if shell is None else "    record = Shell()"]
    for name, field in fields.items():
        if name in names:
            value = f"row[{start + names.index(name)}]"
        elif field.default is not dataclasses.MISSING:
            namespace[f"default_{name}"] = field.default
            value = f"default_{name}"
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"factory_{name}"] = field.default_factory
            value = f"factory_{name}()"
        elif not partial:
            raise TypeError(f"{cls.__name__}.{name} has no column and no default")
        else:
            continue
        if shell is None:
            namespace[f"set_{name}"] = cls.__dict__[name].__set__  # the field's slot
            lines.append(f"    set_{name}(record, {value})")
        else:
            lines.append(f"    record.{name} = {value}")
    if shell is not None:
        lines.append("    record.__class__ = cls")
    lines.append("    return record")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the dataclass's own fields
    make: Callable[[Any], R] = namespace["make"]
    return make


def _shell(cls: type) -> type | None:
    """A plain class of `cls`'s layout (its slots, in order), or None if `cls` would not take
    an instance of it as its own (a base with slots of its own, say)."""
    slots = cls.__dict__["__slots__"]
    if cls.__bases__ != (object,) or not all(name.isidentifier() for name in slots):
        return None
    shell = type(f"{cls.__name__}Shell", (), {"__slots__": tuple(slots)})
    try:
        shell().__class__ = cls
    except TypeError:
        return None
    return shell


def names_of(columns: Sequence[Any]) -> tuple[str, ...]:
    """The names of SQLAlchemy columns (a model's attributes), as a row's record takes them."""
    return tuple(column.key for column in columns)
