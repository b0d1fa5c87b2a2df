"""emails stored in their one normal form, unique as stored

Revision ID: 0013_emails
Revises: 0012_fair_deliveries

Sign-in looked an email up with PostgreSQL's lower() while its throttle keyed it by
Python's lower(): `vİctim@example.com` was a fresh throttle budget that signed in as
`victim@example.com`. Now one function (tandem.domain.users.rules.normalise_email)
gives the one form an email is stored, looked up and throttled under, compared exactly.
This rewrites every stored email in that form. Two accounts whose emails become one
stop the migration, naming both, and nothing is changed: decide which keeps it first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tandem.domain.users.rules import normalise_email

revision: str = "0013_emails"
down_revision: str | None = "0012_fair_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, email FROM users ORDER BY id")).all()
    owners: dict[str, int] = {}
    changes: list[dict[str, object]] = []
    for user_id, email in rows:
        normal = normalise_email(email)
        if normal in owners:
            raise RuntimeError(
                f"users {owners[normal]} and {user_id} would share the email {normal!r};"
                " change one of them, then migrate again"
            )
        owners[normal] = user_id
        if normal != email:
            changes.append({"user_id": user_id, "email": normal})
    op.drop_index("uq_users_email_lower", table_name="users")
    if changes:
        connection.execute(sa.text("UPDATE users SET email = :email WHERE id = :user_id"), changes)
    op.create_index("uq_users_email", "users", ["email"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_email", table_name="users")
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
