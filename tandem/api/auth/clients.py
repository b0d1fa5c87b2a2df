"""Client authentication at the token endpoint, both ways RFC 6749 §2.3.1 allows.

`client_secret_basic`: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`
(the form-urlencoding comes first, as §2.3.1 requires; OAuth libraries send this by
default); `client_secret_post`: `client_id` and `client_secret` form fields. A client
uses one method, never both (§2.3).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from fastapi.security import HTTPBasic
from starlette.requests import Request

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="tandem"'}


@dataclass(frozen=True, slots=True)
class ClientAuthentication:
    """What the request presented; `malformed` when a Basic header could not be read."""

    client_id: str | None = None
    client_secret: str | None = None
    basic: bool = False
    malformed: bool = False


def is_basic(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    return header.partition(" ")[0].lower() == "basic"


def basic_credentials(header: str) -> ClientAuthentication:
    """Decode `Basic …`: base64, split at the first colon, then undo the form-urlencoding."""
    _scheme, _sep, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ClientAuthentication(basic=True, malformed=True)
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        return ClientAuthentication(basic=True, malformed=True)
    return ClientAuthentication(unquote_plus(client_id), unquote_plus(secret), basic=True)


class ClientBasic(HTTPBasic):
    """OpenAPI's `client_secret_basic` scheme; the header is read by `basic_credentials`."""

    async def __call__(self, request: Request) -> ClientAuthentication | None:  # type: ignore[override]
        header = request.headers.get("authorization")
        if header is None or not is_basic(request):
            return None
        return basic_credentials(header)


client_basic = ClientBasic(
    auto_error=False,
    scheme_name="ClientSecretBasic",
    realm="tandem",
    description="A partner API client's client_id and client_secret (RFC 6749 §2.3.1).",
)
