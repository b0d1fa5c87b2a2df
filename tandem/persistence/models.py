"""Every table, imported in one place so the metadata Alembic sees is complete."""

from tandem.persistence.auth.models import RefreshToken, RevokedAccessToken, TokenFamily
from tandem.persistence.base import Base
from tandem.persistence.events.models import Event
from tandem.persistence.items.models import Item
from tandem.persistence.users.models import User
from tandem.persistence.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Base",
    "Event",
    "Item",
    "RefreshToken",
    "RevokedAccessToken",
    "TokenFamily",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
