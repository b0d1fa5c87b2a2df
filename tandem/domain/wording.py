"""The plain words of a field error, one vocabulary for the domain's rules and both faces.

REST's request parsing (pydantic) and the domain's own rules refuse the same fields;
a client reads the same sentence whichever of them caught the mistake, on either face.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

REQUIRED = "is required"
NOT_ALLOWED = "is not allowed"
NOT_NULL = "must not be null"
A_STRING = "must be a string"
A_LIST = "must be a list"
AN_OBJECT = "must be a JSON object"
AN_INTEGER = "must be an integer"
A_NUMBER = "must be a number"
A_BOOLEAN = "must be true or false"
A_DECIMAL = 'must be a decimal number as a string, such as "19.99"'
AN_EMAIL = "must be a valid email address"


def _span(low: int | None, high: int | None, unit: str, singular: str) -> str:
    def noun(count: int) -> str:
        return singular if count == 1 else unit

    if low is not None and high is not None:
        return (
            f"must be exactly {low} {noun(low)}"
            if low == high
            else f"must be {low} to {high} {unit}"
        )
    if high is not None:
        return f"must be at most {high} {noun(high)}"
    if low is not None:
        return f"must be at least {low} {noun(low)}"
    return "has the wrong length"


def length(low: int | None, high: int | None) -> str:
    """`must be 1 to 200 characters`: a text's bounds, either of which may be open."""
    return _span(low, high, "characters", "character")


def entries(low: int | None, high: int | None) -> str:
    """`must have 1 to 10 entries`: a list's bounds."""
    return _span(low, high, "entries", "entry").replace("must be", "must have", 1)


def number(
    low: int | float | Decimal | None,
    high: int | float | Decimal | None,
    *,
    above: int | float | Decimal | None = None,
    below: int | float | Decimal | None = None,
) -> str:
    """`must be between 1 and 100`, `must be at least 0`, `must be greater than 0`."""
    if low is not None and high is not None:
        return f"must be between {_plain(low)} and {_plain(high)}"
    parts = []
    if low is not None:
        parts.append(f"at least {_plain(low)}")
    if above is not None:
        parts.append(f"greater than {_plain(above)}")
    if high is not None:
        parts.append(f"at most {_plain(high)}")
    if below is not None:
        parts.append(f"less than {_plain(below)}")
    return "must be " + " and ".join(parts) if parts else "is out of range"


def _plain(value: int | float | Decimal) -> str:
    """0, not 0.0 (a JSON Schema bound is often a float)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def decimal_places(places: int) -> str:
    return f"must be a decimal with at most {places} places"


def decimal_string(places: int) -> str:
    """A decimal that travels as a string (a price: a JSON number would be a binary float)."""
    return f'must be a decimal string with at most {places} places, such as "19.99"'


def one_of(values: Iterable[object]) -> str:
    """`must be one of: draft, published, archived`."""
    return "must be one of: " + ", ".join(str(value) for value in values)
