"""Small shared value helpers for commands."""

from __future__ import annotations

import enum
from typing import Literal, TypeAlias

from tandem.domain.wording import length


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET = _Unset.UNSET
"""A field a patch did not mention, as opposed to one it set to null."""

Unset: TypeAlias = Literal[_Unset.UNSET]


NUL = "\x00"
NUL_PROBLEM = "must not contain the NUL character"
"""PostgreSQL text cannot hold U+0000: refused as input, so it never reaches the database."""


def clean_text(
    value: str, *, loc: tuple[str, ...], max_length: int, min_length: int = 1
) -> tuple[str, str | None]:
    """The trimmed text and None, or the original and a reason it is out of bounds."""
    if NUL in value:
        return value, NUL_PROBLEM
    trimmed = value.strip()
    if not min_length <= len(trimmed) <= max_length:
        return value, length(min_length, max_length)
    return trimmed, None
