"""Input rules for webhook endpoints: a URL we may call, and the events it wants."""

from __future__ import annotations

from urllib.parse import urlsplit

from tandem.domain.errors import FieldError, ValidationFailed
from tandem.domain.events.records import EVENT_TYPES
from tandem.domain.wording import entries, length, one_of

URL_MAX_LENGTH = 2048
MAX_WEBHOOKS_PER_USER = 20
# A replay queues at most this many deliveries; its answer says where the next one starts.
REPLAY_MAX_EVENTS = 1000
ALL_EVENTS = "*"


def url_problem(url: str, *, require_https: bool) -> str | None:
    """Why Tandem will not call `url` (syntax only; addresses are the guard's), or None."""
    if len(url) > URL_MAX_LENGTH:
        return length(1, URL_MAX_LENGTH)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if require_https and parts.scheme != "https":
        return "must be an https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (put a token in the path or rely on the signature)"
    if parts.fragment:
        return "must not have a #fragment"
    return None


def clean_events(events: list[str]) -> list[str]:
    """The event types asked for, each once, in the order given; `*` means every type."""
    errors: list[FieldError] = []
    if not events:
        errors.append(FieldError(("events",), entries(1, None), "too_short"))
    cleaned: list[str] = []
    for index, kind in enumerate(events):
        if kind != ALL_EVENTS and kind not in EVENT_TYPES:
            rule = one_of([*EVENT_TYPES, ALL_EVENTS])
            errors.append(FieldError(("events", index), rule, "enum"))
        elif kind not in cleaned:
            cleaned.append(kind)
    if errors:
        raise ValidationFailed(errors)
    return [ALL_EVENTS] if ALL_EVENTS in cleaned else cleaned
