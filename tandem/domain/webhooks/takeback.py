"""Taking an account back ends its webhooks too: a password reset or change disables them.

Whoever once held the account may have registered an endpoint of their own; it would
go on receiving the account's drafts. So each active endpoint is disabled with a
`disabled_reason` that says why, in the transaction that changes the password, and
the owner is mailed the list: each one that is truly theirs is turned back on with
`PATCH active: true`.
"""

from __future__ import annotations

from tandem.domain.mail import messages
from tandem.domain.store import UnitOfWork
from tandem.domain.users.records import UserRecord

RESET = "password reset"
CHANGE = "password change"


def takeback_reason(cause: str) -> str:
    return f"disabled by a {cause}: if this endpoint is yours, turn it back on (active: true)"


async def disable_webhooks(uow: UnitOfWork, user: UserRecord, *, cause: str) -> int:
    """Disable `user`'s active endpoints and queue the mail that lists them; how many."""
    disabled = await uow.webhooks.disable_owned(user.id, reason=takeback_reason(cause))
    if disabled:
        await uow.mail.enqueue(
            [
                messages.webhooks_disabled(
                    user_id=user.id,
                    email=user.email,
                    name=user.name,
                    why=f"Your password was changed (a {cause})",
                    urls=[webhook.url for webhook in disabled],
                )
            ]
        )
    return len(disabled)
