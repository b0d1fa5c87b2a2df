"""Input rules for items, shared by every face."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tandem.domain.errors import FieldError, ValidationFailed
from tandem.domain.items.records import ItemSort, ItemStatus
from tandem.domain.values import NUL, NUL_PROBLEM, UNSET, clean_text
from tandem.domain.wording import NOT_NULL, decimal_string, entries, length, number, one_of

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000
TAG_MAX_LENGTH = 40
MAX_TAGS = 20
STATUSES = tuple(status.value for status in ItemStatus)
SORTS = tuple(sort.value for sort in ItemSort)
PRICE_MAX = Decimal("9999999999.99")
Q_MAX_LENGTH = 200
MAX_SEARCH_TERMS = 10


def _price(value: Decimal, errors: list[FieldError]) -> Decimal:
    try:
        if not value.is_finite() or value < 0 or value > PRICE_MAX:
            errors.append(FieldError(("price",), number(0, PRICE_MAX), "range"))
        elif -value.as_tuple().exponent > 2:  # type: ignore[operator]
            errors.append(FieldError(("price",), decimal_string(2), "decimal"))
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors.append(FieldError(("price",), decimal_string(2), "decimal"))
        return value


def _tags(tags: list[str], errors: list[FieldError]) -> list[str]:
    if len(tags) > MAX_TAGS:
        errors.append(FieldError(("tags",), entries(None, MAX_TAGS), "too_long"))
    for index, tag in enumerate(tags):
        if not 1 <= len(tag) <= TAG_MAX_LENGTH:
            errors.append(FieldError(("tags", index), length(1, TAG_MAX_LENGTH), "length"))
        elif NUL in tag:
            errors.append(FieldError(("tags", index), NUL_PROBLEM, "value_error"))
    return list(dict.fromkeys(tags))  # duplicates dropped, order kept


def clean_item_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the fields given (UNSET skipped); report every problem at once."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if value is UNSET:
            continue
        if name == "title":
            if value is None:
                errors.append(FieldError(("title",), NOT_NULL, "missing"))
                continue
            value, problem = clean_text(value, loc=("title",), max_length=TITLE_MAX_LENGTH)
            if problem:
                errors.append(FieldError(("title",), problem, "length"))
        elif name == "description" and value is not None and len(value) > DESCRIPTION_MAX_LENGTH:
            errors.append(
                FieldError(("description",), length(None, DESCRIPTION_MAX_LENGTH), "length")
            )
        elif name == "description" and value is not None and NUL in value:
            errors.append(FieldError(("description",), NUL_PROBLEM, "value_error"))
        elif name == "price" and value is not None:
            value = _price(value, errors)
        elif name == "tags":
            value = _tags(value or [], errors)
        elif name == "status" and value is None:
            errors.append(FieldError(("status",), NOT_NULL, "missing"))
        elif name == "status" and value not in STATUSES:
            errors.append(FieldError(("status",), one_of(STATUSES), "enum"))
        values[name] = value
    if errors:
        raise ValidationFailed(errors)
    return values


def check_query(
    *,
    status: str | None,
    q: str | None,
    sort: str,
    tag: str | None = None,
) -> None:
    errors: list[FieldError] = []
    if tag is not None and NUL in tag:
        errors.append(FieldError(("tag",), NUL_PROBLEM, "value_error"))
    if status is not None and status not in STATUSES:
        errors.append(FieldError(("status",), one_of(STATUSES), "enum"))
    if q is not None and len(q) > Q_MAX_LENGTH:
        errors.append(FieldError(("q",), length(None, Q_MAX_LENGTH), "length"))
    if q is not None and len(search_terms(q)) > MAX_SEARCH_TERMS:
        errors.append(FieldError(("q",), f"must be at most {MAX_SEARCH_TERMS} words", "too_long"))
    if sort not in SORTS:
        errors.append(FieldError(("sort",), one_of(SORTS), "enum"))
    elif sort == ItemSort.RELEVANCE and not search_terms(q or ""):
        errors.append(FieldError(("sort",), "relevance needs a search: give q", "value_error"))
    if errors:
        raise ValidationFailed(errors)


def search_terms(q: str) -> list[str]:
    """The words of a search, each to be found (as a substring, or nearly): case-blind, once.

    A NUL (which no stored text holds) separates words like a space.
    """
    return list({term.casefold(): term for term in q.replace(NUL, " ").split()}.values())
