"""Typed settings, read once from the environment (and an optional `.env`).

Nothing else in Tandem reads the environment: every module asks `get_settings()`.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    tandem_env: Literal["development", "production"] = "development"
    database_url: str | None = None
    secret_key: str | None = Field(default=None, min_length=32)
    data_dir: Path = Path(".tandem")

    jwt_issuer: str = "tandem"
    jwt_audience: str = "tandem-api"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300, le=365 * 86_400)

    cors_origins: list[str] = []
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    db_pool_size: int = Field(default=10, ge=1, le=200)
    password_hash_time_cost: int = Field(default=3, ge=1, le=10)
    password_hash_memory_kib: int = Field(default=65_536, ge=1_024, le=1_048_576)

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must start with postgresql:// or postgresql+asyncpg://")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.tandem_env == "production" and not self.secret_key:
            raise ValueError("SECRET_KEY is required when TANDEM_ENV=production")
        return self

    @property
    def is_development(self) -> bool:
        return self.tandem_env == "development"

    def signing_key(self) -> str:
        """The JWT key: SECRET_KEY, or in development one generated once and kept on disk."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]).upper() or "settings"
    message = first["msg"].removeprefix("Value error, ")
    if not first["loc"]:
        return message
    return f"{name}: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; a bad value raises SettingsError naming it."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None
