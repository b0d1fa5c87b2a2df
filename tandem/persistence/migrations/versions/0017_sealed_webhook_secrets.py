"""webhook secrets sealed at rest (AES-256-GCM, tandem/domain/webhooks/sealing.py)

The columns widen (a catalogue-only change for varchar) and every secret still in
the clear is sealed under the server's key (SECRET_KEYS' first, or SECRET_KEY), so
this migration must run with the settings the app runs with.

Revision ID: 0017_sealed_secrets
Revises: 0016_trace_context
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tandem.domain.webhooks.sealing import SecretSeal

revision: str = "0017_sealed_secrets"
down_revision: str | None = "0016_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("secret", "previous_secret")
CLEAR = sa.text(
    "SELECT id, secret, previous_secret FROM webhook_endpoints"
    " WHERE secret NOT LIKE 'sealed:%' OR previous_secret NOT LIKE 'sealed:%'"
)
SEALED = sa.text(
    "SELECT id, secret, previous_secret FROM webhook_endpoints"
    " WHERE secret LIKE 'sealed:%' OR previous_secret LIKE 'sealed:%'"
)
WRITE = sa.text(
    "UPDATE webhook_endpoints SET secret = :secret, previous_secret = :previous WHERE id = :id"
)


def _seal() -> SecretSeal:
    from tandem.config import Settings  # read only when there is something to seal

    return SecretSeal(Settings().verification_keys())


def upgrade() -> None:
    for column in COLUMNS:
        op.alter_column(
            "webhook_endpoints",
            column,
            existing_type=sa.String(100),
            type_=sa.String(255),
            existing_nullable=column != "secret",
        )
    connection = op.get_bind()
    rows = connection.execute(CLEAR).all()
    if not rows:
        return
    seal = _seal()
    for row in rows:
        secret, previous = row.secret, row.previous_secret
        connection.execute(
            WRITE,
            {
                "id": row.id,
                "secret": secret if secret.startswith("sealed:") else seal.seal(secret),
                "previous": previous
                if previous is None or previous.startswith("sealed:")
                else seal.seal(previous),
            },
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(SEALED).all()
    if rows:
        seal = _seal()
        for row in rows:
            previous = row.previous_secret
            connection.execute(
                WRITE,
                {
                    "id": row.id,
                    "secret": seal.open(row.secret),
                    "previous": None if previous is None else seal.open(previous),
                },
            )
    for column in COLUMNS:
        op.alter_column(
            "webhook_endpoints",
            column,
            existing_type=sa.String(255),
            type_=sa.String(100),
            existing_nullable=column != "secret",
        )
