"""Input rules for users, shared by every face."""

from __future__ import annotations

import contextlib
import unicodedata

from email_validator import EmailNotValidError, validate_email

from tandem.domain.errors import FieldError, ValidationFailed
from tandem.domain.users.records import Role
from tandem.domain.values import clean_text
from tandem.domain.wording import AN_EMAIL, length, one_of

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 320
ROLES = tuple(role.value for role in Role)


def normalise_email(email: str) -> str:
    """The one form of an email: stored, looked up (exactly) and throttled under.

    Trimmed; a valid address in email-validator's normal form (its domain in Unicode,
    lowercased); then case-folded and NFC-composed, the whole address. Python does the
    folding, never the database, so the throttle's key and the lookup are the same
    string: `vİctim@example.com` folds to `vi̇ctim@example.com` (with a combining dot),
    another address than `victim@example.com`, on both. Never raises: a sign-in with a
    malformed username is an unknown account, not a 422.
    """
    candidate = email.strip()
    if len(candidate) <= EMAIL_MAX_LENGTH:
        with contextlib.suppress(EmailNotValidError):
            candidate = validate_email(candidate, check_deliverability=False).normalized
    return unicodedata.normalize("NFC", candidate.casefold())


def clean_email(email: str) -> str:
    """Checked (422 when it is no address, or too long), then `normalise_email`'s form."""
    candidate = email.strip()
    if len(candidate) > EMAIL_MAX_LENGTH:
        raise ValidationFailed.one(("email",), length(None, EMAIL_MAX_LENGTH), "string_too_long")
    try:
        validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationFailed.one(("email",), AN_EMAIL, "value_error") from None
    return normalise_email(candidate)


# A name is text, not layout: it reaches mail bodies and other people's screens, where a
# line break or a control character could forge a line ("URGENT: … http://evil.example").
# Refused: every control character (Unicode category Cc: NUL to US, DEL, C1), the line
# and paragraph separators, and the bidirectional embedding, override and isolate marks.
LAYOUT = frozenset(
    [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))]
    + ["\u2028", "\u2029"]
    + [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
)
NAME_LAYOUT_PROBLEM = "must be text: no line breaks, tabs or other control characters"


def clean_name(name: str) -> str:
    """Trimmed, 1 to 100 characters, and text only (no control or layout characters)."""
    cleaned, problem = clean_text(name, loc=("name",), max_length=NAME_MAX_LENGTH)
    if problem is None and not LAYOUT.isdisjoint(name):
        problem = NAME_LAYOUT_PROBLEM
    if problem:
        raise ValidationFailed([FieldError(("name",), problem, "value_error")])
    return cleaned


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationFailed.one(("role",), one_of(ROLES), "enum")
    return role
