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


def clean_name(name: str) -> str:
    cleaned, problem = clean_text(name, loc=("name",), max_length=NAME_MAX_LENGTH)
    if problem:
        raise ValidationFailed([FieldError(("name",), problem, "value_error")])
    return cleaned


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationFailed.one(("role",), one_of(ROLES), "enum")
    return role
