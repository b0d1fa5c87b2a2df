"""Every table, imported in one place so the metadata Alembic sees is complete."""

from tandem.persistence.auth.models import RefreshToken, RevokedAccessToken, TokenFamily
from tandem.persistence.base import Base
from tandem.persistence.items.models import Item
from tandem.persistence.users.models import User

__all__ = ["Base", "Item", "RefreshToken", "RevokedAccessToken", "TokenFamily", "User"]
