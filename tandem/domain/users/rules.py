"""Input rules for users, shared by every face."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from tandem.domain.errors import FieldError, ValidationFailed
from tandem.domain.users.records import Role
from tandem.domain.values import clean_text
from tandem.domain.wording import AN_EMAIL, length, one_of

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 320
ROLES = tuple(role.value for role in Role)


def clean_email(email: str) -> str:
    """Trimmed and checked; the domain part lowercased. Comparison is case-insensitive anyway."""
    candidate = email.strip()
    if len(candidate) > EMAIL_MAX_LENGTH:
        raise ValidationFailed.one(("email",), length(None, EMAIL_MAX_LENGTH), "string_too_long")
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationFailed.one(("email",), AN_EMAIL, "value_error") from None


def clean_name(name: str) -> str:
    cleaned, problem = clean_text(name, loc=("name",), max_length=NAME_MAX_LENGTH)
    if problem:
        raise ValidationFailed([FieldError(("name",), problem, "value_error")])
    return cleaned


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationFailed.one(("role",), one_of(ROLES), "enum")
    return role
