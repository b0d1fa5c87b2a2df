"""Password recovery on the GraphQL face: the REST face's use cases, the same rules."""

from __future__ import annotations

import strawberry

from tandem.graphql.context import Info


@strawberry.type
class RecoveryMutations:
    @strawberry.mutation(
        description=(
            "Mail a password-reset link to the account with this email, if there is one. "
            "True whether or not the email is known; throttled per email and per address."
        )
    )
    async def request_password_reset(self, info: Info, email: str) -> bool:
        await info.context.services.recovery.request(email, address=info.context.address)
        return True

    @strawberry.mutation(
        description=(
            "Set a new password with the token from a reset mail (single-use, valid for an "
            "hour at most). Every session of the account ends. A bad, used or expired "
            "token is BAD_USER_INPUT."
        )
    )
    async def reset_password(self, info: Info, token: str, new_password: str) -> bool:
        await info.context.services.recovery.reset(token, new_password)
        return True
