"""User use cases: registration, profiles, and administration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.domain.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    PasswordHasher,
    check_password_rules,
)
from tandem.domain.auth.throttle import AddressBudget
from tandem.domain.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from tandem.domain.idempotency.ports import ScopedStore
from tandem.domain.mail import messages
from tandem.domain.pages import (
    Page,
    Slice,
    Window,
    check_page,
    decode_id_cursor,
    encode_id_cursor,
)
from tandem.domain.principal import USERS_READ, USERS_WRITE, Principal, signed_in
from tandem.domain.store import UnitOfWork
from tandem.domain.users.commands import RegisterUser, UpdateMe, UpdateUser
from tandem.domain.users.records import Role, UserRecord
from tandem.domain.users.rules import check_role, clean_email, clean_name
from tandem.domain.values import UNSET
from tandem.domain.webhooks import takeback
from tandem.domain.webhooks.takeback import disable_webhooks

EMAIL_TAKEN = "An account with this email already exists."
STALE = "The user has changed since you read it; read it again."
Since = datetime | None  # the `updated_at` an If-Match names, or None for no precondition


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as one caller may see them: `private` adds email, role and state."""

    user: UserRecord
    private: bool


def sees_private(principal: Principal, user_id: int) -> bool:
    """Yourself, or anyone as an administrator; either way with a token that may read users."""
    return USERS_READ in principal.scopes and (principal.user_id == user_id or principal.is_admin)


def may_look_up(principal: Principal, user_id: int) -> bool:
    """Looking a user up by id needs `users:read`, yourself included: a token narrowed to
    items reads no account details.

    (An item's owner is part of the item: reading it needs only `items:read`.)
    """
    return USERS_READ in principal.scopes


class UserService:
    def __init__(
        self,
        *,
        database: ScopedStore,
        hasher: PasswordHasher,
        welcomes: AddressBudget | None = None,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._welcomes = welcomes

    async def register(
        self,
        command: RegisterUser,
        *,
        role: str = Role.MEMBER,
        welcome: bool = True,
        address: str | None = None,
    ) -> UserRecord:
        """Create an account. The role comes from the caller's code, never from the request.

        `welcome`: queue the welcome mail in the same transaction (the demo data sends none),
        unless `address` (the client's) has had its welcome mails for the hour: the account
        is made all the same, since the mail only greets (registration mails any address
        unverified; this bounds how many one sender can make Tandem send).
        """
        email = clean_email(command.email)
        name = clean_name(command.name)
        check_password_rules(command.password)
        check_role(role)
        password_hash = await self._hasher.hash(command.password)
        if welcome and self._welcomes is not None:
            welcome = await self._welcomes.allows(address)
        async with self._database.transaction() as uow:
            user = await uow.users.add(
                email=email, name=name, password_hash=password_hash, role=role
            )
            if user is not None and welcome:
                await uow.mail.enqueue(
                    [messages.welcome(user_id=user.id, email=user.email, name=user.name)]
                )
        if user is None:
            raise Conflict(EMAIL_TAKEN)
        return user

    async def me(self, principal: Principal | None) -> UserRecord:
        caller = signed_in(principal, scope=USERS_READ)
        async with self._database.reader() as uow:
            user = await uow.users.get(caller.user_id)
        if user is None:
            raise NotFound("Your account no longer exists.")
        return user

    async def get(self, principal: Principal | None, user_id: int) -> UserView:
        caller = signed_in(principal)
        if not may_look_up(caller, user_id):
            caller.require_scope(USERS_READ)  # refuses, naming the scope
        async with self._database.reader() as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise NotFound.missing("user", user_id)
        return UserView(user, sees_private(caller, user_id))

    async def get_many(self, principal: Principal | None, user_ids: list[int]) -> list[UserRecord]:
        """Users by id for a batch loader; any signed-in caller may see public views."""
        signed_in(principal)
        async with self._database.reader() as uow:
            return await uow.users.get_many(user_ids)

    async def page(self, principal: Principal | None, *, page: int, size: int) -> Page[UserRecord]:
        """Admins' offset page, with its total and the cursor that continues it."""
        caller = signed_in(principal, scope=USERS_READ)
        caller.require_admin()
        check_page(page, size)
        async with self._database.reader() as uow:
            users, total = await uow.users.page(offset=(page - 1) * size, limit=size + 1)
        shown = users[:size]
        more = len(users) > size and bool(shown)
        return Page(shown, total, page, size, encode_id_cursor(shown[-1].id) if more else None)

    async def slice(self, principal: Principal | None, window: Window) -> Slice[UserRecord]:
        """Admins' keyset listing in id order, either way from a cursor."""
        caller = signed_in(principal, scope=USERS_READ)
        caller.require_admin()
        after_id = decode_id_cursor(window.cursor, loc=window.loc) if window.cursor else None
        async with self._database.reader() as uow:
            rows = await uow.users.keyset(
                after_id=after_id,
                limit=window.size + 1,
                backward=window.backward,
                look_behind=window.look_behind,
            )
        beyond = len(rows.rows) > window.size
        users = rows.rows[: window.size]
        behind = rows.behind and after_id is not None
        cursor_of = _user_cursor
        if window.backward:
            return Slice(users[::-1], cursor_of, has_more=behind, has_previous=beyond)
        return Slice(users, cursor_of, has_more=beyond, has_previous=behind)

    async def count(self, principal: Principal | None) -> int:
        """How many users there are (administrators only)."""
        caller = signed_in(principal, scope=USERS_READ)
        caller.require_admin()
        async with self._database.reader() as uow:
            return await uow.users.count()

    async def update_me(
        self, principal: Principal | None, command: UpdateMe, *, unchanged_since: Since = None
    ) -> UserRecord:
        """Change your own account; with `unchanged_since`, only if it is still as you read it."""
        caller = signed_in(principal, scope=USERS_WRITE)
        values: dict[str, Any] = {}
        if command.name is not UNSET:
            values["name"] = clean_name(command.name)
        new_password = command.password
        if new_password is not UNSET:
            check_password_rules(new_password)
            if command.current_password is UNSET:
                raise ValidationFailed.one(
                    ("current_password",), "is required to set a new password", "missing"
                )
            if len(command.current_password) > MAX_PASSWORD_LENGTH:  # refused before hashing
                raise ValidationFailed.one(
                    ("current_password",),
                    f"must be at most {MAX_PASSWORD_LENGTH} characters",
                    "string_too_long",
                )
            async with self._database.reader() as uow:
                current_hash = await uow.users.password_hash(caller.user_id)
            if not await self._hasher.verify(current_hash, command.current_password):
                raise ValidationFailed.one(("current_password",), "is incorrect", "value_error")
            values["password_hash"] = await self._hasher.hash(new_password)
        async with self._database.transaction() as uow:
            if unchanged_since is not None:
                _check_unchanged(
                    await uow.users.get(caller.user_id), caller.user_id, unchanged_since
                )
            user = await self._apply(uow, caller.user_id, values, unchanged_since)
            if new_password is not UNSET:
                # A new password ends every other session: whoever knew the old one is out,
                # and so is whoever holds a reset link mailed before the change.
                await uow.tokens.revoke_user_families(caller.user_id, keep=caller.family_id)
                await uow.resets.spend_all(caller.user_id)
                await disable_webhooks(uow, user, cause=takeback.CHANGE)
        return user

    async def update(
        self,
        principal: Principal | None,
        user_id: int,
        command: UpdateUser,
        *,
        unchanged_since: Since = None,
    ) -> UserRecord:
        """An administrator's change; with `unchanged_since` (If-Match), only if still current."""
        caller = signed_in(principal, scope=USERS_WRITE)
        caller.require_admin()
        values: dict[str, Any] = {}
        if command.name is not UNSET:
            values["name"] = clean_name(command.name)
        if command.role is not UNSET:
            values["role"] = check_role(command.role)
        if command.is_active is not UNSET:
            values["is_active"] = command.is_active
        async with self._database.transaction() as uow:
            current = _check_unchanged(await uow.users.get(user_id), user_id, unchanged_since)
            loses_admin = current.role == Role.ADMIN and (
                values.get("role", Role.ADMIN) != Role.ADMIN
                or values.get("is_active", True) is False
            )
            if loses_admin:
                await self._keep_an_admin(uow, user_id)
            user = await self._apply(uow, user_id, values, unchanged_since)
            if values.get("is_active") is False:
                await uow.tokens.revoke_user_families(user_id)
        return user

    async def delete_me(
        self, principal: Principal | None, *, unchanged_since: Since = None
    ) -> None:
        caller = signed_in(principal, scope=USERS_WRITE)
        await self._delete(caller.user_id, unchanged_since)

    async def delete(
        self, principal: Principal | None, user_id: int, *, unchanged_since: Since = None
    ) -> None:
        caller = signed_in(principal, scope=USERS_WRITE)
        caller.require_admin()
        await self._delete(user_id, unchanged_since)

    async def _delete(self, user_id: int, unchanged_since: Since) -> None:
        """Delete the account; its items and tokens go with it (ON DELETE CASCADE)."""
        async with self._database.transaction() as uow:
            current = _check_unchanged(await uow.users.get(user_id), user_id, unchanged_since)
            if current.role == Role.ADMIN and current.is_active:
                await self._keep_an_admin(uow, user_id)
            await uow.events.append_owner_deletions(user_id)  # its items go: announce each
            if not await uow.users.delete(user_id, unchanged_since=unchanged_since):
                raise PreconditionFailed(STALE)

    @staticmethod
    async def _keep_an_admin(uow: UnitOfWork, user_id: int) -> None:
        if await uow.users.other_active_admins(user_id) == 0:
            raise Conflict("This is the last active administrator; appoint another first.")

    @staticmethod
    async def _apply(
        uow: UnitOfWork, user_id: int, values: dict[str, Any], unchanged_since: Since = None
    ) -> UserRecord:
        if not values:
            user = await uow.users.get(user_id)
        else:
            user = await uow.users.update(user_id, values, unchanged_since=unchanged_since)
        if user is None:
            if unchanged_since is not None:  # changed (or gone) between our read and our write
                raise PreconditionFailed(STALE)
            raise NotFound.missing("user", user_id)
        return user


def _user_cursor(user: UserRecord) -> str:
    return encode_id_cursor(user.id)


def _check_unchanged(current: UserRecord | None, user_id: int, since: Since) -> UserRecord:
    """The user, if there and (given `since`, an If-Match) unchanged since then.

    A user already gone fails the precondition (412), as RFC 9110 §13.1.1 has it.
    """
    if current is None:
        if since is not None:
            raise PreconditionFailed(f"User {user_id} no longer exists; If-Match cannot hold.")
        raise NotFound.missing("user", user_id)
    if since is not None and current.updated_at != since:
        raise PreconditionFailed(STALE)
    return current
