"""Every table, imported in one place so the metadata Alembic sees is complete."""

from tandem.persistence.auth.models import (
    PasswordReset,
    RefreshToken,
    RevokedAccessToken,
    TokenFamily,
)
from tandem.persistence.base import Base
from tandem.persistence.clients.models import ApiClient
from tandem.persistence.events.models import Event
from tandem.persistence.idempotency.models import IdempotencyKey
from tandem.persistence.items.models import Item
from tandem.persistence.mail.models import OutboxMail
from tandem.persistence.positions.models import ReadPosition
from tandem.persistence.requests.models import RequestLogRow
from tandem.persistence.users.models import User
from tandem.persistence.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiClient",
    "Base",
    "Event",
    "IdempotencyKey",
    "Item",
    "OutboxMail",
    "PasswordReset",
    "ReadPosition",
    "RefreshToken",
    "RequestLogRow",
    "RevokedAccessToken",
    "TokenFamily",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
