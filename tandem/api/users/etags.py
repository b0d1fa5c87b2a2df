"""Users' ETags: strong, and each changes exactly when its view's bytes can.

The private view (yourself, administrators) is named by the user's id and
`updated_at` (to the microsecond), which every change moves; If-Match names the
version by it, so only a private view's tag is a precondition (only yourself and
administrators change a user, and both read the private view). The public view
is named by a digest of its own fields (name, creation time): a password, role or
state change moves `updated_at` but must not show anyone else that the account
changed (issue 20, finding 12).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from tandem.domain.users.records import UserRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def user_etag(user: UserRecord, *, private: bool) -> str:
    if not private:
        public = f"{user.name}\x00{user.created_at.isoformat()}".encode()
        return f'"user-{user.id}-public-{hashlib.sha256(public).hexdigest()[:24]}"'
    micros = (user.updated_at - EPOCH) // MICROSECOND
    return f'"user-{user.id}-{micros}-private"'


def unchanged_since(if_match: str | None, user_id: int) -> datetime | None:
    """The `updated_at` an If-Match names for this user; None when there is no If-Match.

    `*` asks only that the user exists. Tags compare strongly (RFC 9110 §13.1.1): a weak
    tag, a public view's tag, a tag that is not ours for this user, or two tags naming
    different versions can never be current: the epoch, which no user's `updated_at`
    is, so the domain answers 412, after it has checked who may ask.
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
            if micros.isdigit() and view == "private":
                versions.add(int(micros))
    if len(versions) != 1:
        return EPOCH
    try:
        return EPOCH + versions.pop() * MICROSECOND
    except OverflowError:  # past year 9999: no user's version, so never current
        return EPOCH
