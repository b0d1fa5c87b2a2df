"""Input rules for items, shared by every face."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from tandem.domain.errors import FieldError, ValidationFailed
from tandem.domain.items.commands import ItemQuery
from tandem.domain.items.records import FILTERS, Filter, ItemSort, ItemStatus
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


Rule = Callable[[Any, tuple[str, ...], list[FieldError]], Any]


def _title(value: Any, loc: tuple[str, ...], errors: list[FieldError]) -> Any:
    if value is None:
        errors.append(FieldError(loc, NOT_NULL, "missing"))
        return value
    value, problem = clean_text(value, loc=loc, max_length=TITLE_MAX_LENGTH)
    if problem:
        errors.append(FieldError(loc, problem, "length"))
    return value


def _description(value: Any, loc: tuple[str, ...], errors: list[FieldError]) -> Any:
    if value is not None and len(value) > DESCRIPTION_MAX_LENGTH:
        errors.append(FieldError(loc, length(None, DESCRIPTION_MAX_LENGTH), "length"))
    elif value is not None and NUL in value:
        errors.append(FieldError(loc, NUL_PROBLEM, "value_error"))
    return value


def _price(value: Any, loc: tuple[str, ...], errors: list[FieldError]) -> Any:
    if value is None:
        return value
    try:
        if not value.is_finite() or value < 0 or value > PRICE_MAX:
            errors.append(FieldError(loc, number(0, PRICE_MAX), "range"))
        elif -value.as_tuple().exponent > 2:
            errors.append(FieldError(loc, decimal_string(2), "decimal"))
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors.append(FieldError(loc, decimal_string(2), "decimal"))
        return value


def _tags(value: Any, loc: tuple[str, ...], errors: list[FieldError]) -> Any:
    tags: list[str] = value or []
    if len(tags) > MAX_TAGS:
        errors.append(FieldError(loc, entries(None, MAX_TAGS), "too_long"))
    for index, tag in enumerate(tags):
        if not 1 <= len(tag) <= TAG_MAX_LENGTH:
            errors.append(FieldError((*loc, index), length(1, TAG_MAX_LENGTH), "length"))
        elif NUL in tag:
            errors.append(FieldError((*loc, index), NUL_PROBLEM, "value_error"))
    return list(dict.fromkeys(tags))  # duplicates dropped, order kept


def _status(value: Any, loc: tuple[str, ...], errors: list[FieldError]) -> Any:
    if value is None:
        errors.append(FieldError(loc, NOT_NULL, "missing"))
    elif value not in STATUSES:
        errors.append(FieldError(loc, one_of(STATUSES), "enum"))
    return value


# Each writable field's rule: it checks the value (reporting into `errors`) and returns it
# normalised. A filter that compares a field (`equals`) is checked by the same rule.
FIELD_RULES: dict[str, Rule] = {
    "title": _title,
    "description": _description,
    "price": _price,
    "tags": _tags,
    "status": _status,
}


def _tag(value: Any, loc: tuple[str, ...], errors: list[FieldError]) -> Any:
    if NUL in value:
        errors.append(FieldError(loc, NUL_PROBLEM, "value_error"))
    return value


def _q(value: Any, loc: tuple[str, ...], errors: list[FieldError]) -> Any:
    if len(value) > Q_MAX_LENGTH:
        errors.append(FieldError(loc, length(None, Q_MAX_LENGTH), "length"))
    if len(search_terms(value)) > MAX_SEARCH_TERMS:
        errors.append(FieldError(loc, f"must be at most {MAX_SEARCH_TERMS} words", "too_long"))
    return value


# The filters that do not compare a field by equality have rules of their own.
FILTER_RULES: dict[str, Rule] = {"tag": _tag, "q": _q}


def clean_item_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the fields given (UNSET skipped); report every problem at once."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if value is UNSET:
            continue
        rule = FIELD_RULES.get(name)
        values[name] = value if rule is None else rule(value, (name,), errors)
    if errors:
        raise ValidationFailed(errors)
    return values


def filter_rule(entry: Filter) -> Rule | None:
    """How a filter's value is checked: its own rule, or the rule of the field it equals."""
    if entry.name in FILTER_RULES:
        return FILTER_RULES[entry.name]
    if entry.test == "equals" and entry.column is not None:
        return FIELD_RULES.get(entry.column)
    return None


def check_query(query: ItemQuery) -> None:
    """Every filter given, checked by its rule, and the order; every problem at once."""
    errors: list[FieldError] = []
    for entry in FILTERS:
        value = getattr(query, entry.name)
        rule = filter_rule(entry)
        if value is not None and rule is not None:
            rule(value, (entry.name,), errors)
    if query.sort not in SORTS:
        errors.append(FieldError(("sort",), one_of(SORTS), "enum"))
    elif query.sort == ItemSort.RELEVANCE and not search_terms(query.q or ""):
        errors.append(FieldError(("sort",), "relevance needs a search: give q", "value_error"))
    if errors:
        raise ValidationFailed(errors)


def search_terms(q: str) -> list[str]:
    """The words of a search, each to be found (as a substring, or nearly): case-blind, once.

    A NUL (which no stored text holds) separates words like a space.
    """
    return list({term.casefold(): term for term in q.replace(NUL, " ").split()}.values())
