"""access notifications: a NOTIFY on commit when a token, an account or its role changes

Running subscriptions end within about a second of a revocation, a deactivation or
a demotion, on every process: each process's subscription feed LISTENs on
`tandem_events` and rechecks the subscriptions the payload names
(tandem/persistence/realtime/feed.py). Triggers, so that every path that changes
access (REST, GraphQL, the CLI, a password reset) announces it, and only on commit.

Revision ID: 0015_access_notifications
Revises: 0014_request_log
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_access_notifications"
down_revision: str | None = "0014_request_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION tandem_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'revoked_access_tokens' THEN
    PERFORM pg_notify('tandem_events', 'access:token:' || NEW.jti::text);
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('tandem_events', 'access:user:' || OLD.id::text);
  ELSE
    PERFORM pg_notify('tandem_events', 'access:user:' || OLD.user_id::text);
  END IF;
  RETURN NULL;
END
$$
"""

TRIGGERS = {
    "users_access_changed": "AFTER UPDATE OF role, is_active ON users FOR EACH ROW "
    "WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.is_active IS DISTINCT FROM NEW.is_active)",
    "users_access_removed": "AFTER DELETE ON users FOR EACH ROW",
    "token_families_revoked": "AFTER UPDATE OF revoked_at ON token_families FOR EACH ROW "
    "WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)",
    "access_token_revoked": "AFTER INSERT ON revoked_access_tokens FOR EACH ROW",
    "api_clients_changed": "AFTER UPDATE OF generation OR DELETE ON api_clients FOR EACH ROW",
}
TABLES = {
    "users_access_changed": "users",
    "users_access_removed": "users",
    "token_families_revoked": "token_families",
    "access_token_revoked": "revoked_access_tokens",
    "api_clients_changed": "api_clients",
}


def upgrade() -> None:
    op.execute(FUNCTION)
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION tandem_access_changed()")


def downgrade() -> None:
    for name, table in TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS tandem_access_changed()")
