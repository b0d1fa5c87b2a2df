"""Users' ETags: strong, named by the user's id, `updated_at` (to the microsecond) and view.

Every change to a user moves `updated_at`, so the tag changes exactly when the view's
bytes can; the view (`public` or `private`) is part of it because the two views of one
user are different representations. If-Match names the version by `updated_at`, so
either view's tag will do as a precondition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tandem.domain.users.records import UserRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def user_etag(user: UserRecord, *, private: bool) -> str:
    micros = (user.updated_at - EPOCH) // MICROSECOND
    return f'"user-{user.id}-{micros}-{"private" if private else "public"}"'


def unchanged_since(if_match: str | None, user_id: int) -> datetime | None:
    """The `updated_at` an If-Match names for this user; None when there is no If-Match.

    `*` asks only that the user exists; a tag that is not ours for this user, or two tags
    naming different versions, can never be current: the epoch, which no user's
    `updated_at` is, so the domain answers 412, after it has checked who may ask.
    """
    if if_match is None:
        return None
    versions: set[int] = set()
    for tag in if_match.split(","):
        tag = tag.strip()
        if tag == "*":
            return None
        prefix = f'"user-{user_id}-'
        if tag.startswith(prefix) and tag.endswith('"'):
            micros, _sep, view = tag[len(prefix) : -1].partition("-")
            if micros.isdigit() and view in ("public", "private"):
                versions.add(int(micros))
    if len(versions) != 1:
        return EPOCH
    try:
        return EPOCH + versions.pop() * MICROSECOND
    except OverflowError:  # past year 9999: no user's version, so never current
        return EPOCH
