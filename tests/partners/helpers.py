"""Partner-side helpers: API clients made as an administrator would, and authlib sessions."""

from __future__ import annotations

import warnings
from typing import Any

# authlib warns of its own httpx module on import, and its `deprecate` module, on import,
# puts an "always" filter for its warnings ahead of every filter set before (pytest's
# configuration's among them). So `deprecate` is imported first, and the filter that hides
# the warning is set after it, around the import that warns.
import authlib.deprecate  # noqa: F401
import httpx
from fastapi import FastAPI

from tandem.domain.clients.commands import CreateClient
from tandem.domain.services import Services
from tandem.http.versions import NEWEST

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

TOKEN = "/api/v1/auth/token"
BASE_URL = "http://testserver"


async def make_client(
    services: Services,
    *,
    user_id: int,
    scopes: str = "items:read items:write users:read",
    api_version: str = str(NEWEST),
) -> tuple[str, str]:
    """A partner client for `user_id`: its (client_id, client_secret)."""
    issued = await services.clients.provision(
        CreateClient(
            name="Partner", user_id=user_id, scopes=scopes.split(), api_version=api_version
        )
    )
    return issued.client.client_id, issued.client_secret


def oauth_session(app: FastAPI, **options: Any) -> AsyncOAuth2Client:
    """authlib's own OAuth 2 client, talking to the app in-process."""
    return AsyncOAuth2Client(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, **options)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
