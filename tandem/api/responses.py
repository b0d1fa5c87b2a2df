"""JSON responses (a pydantic model, or bytes already rendered), and conditional GETs."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response


def json_response(
    model: BaseModel | bytes, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = model if isinstance(model, bytes) else model.model_dump_json()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def matches(header: str | None, tag: str) -> bool:
    """Whether an If-None-Match / If-Match header names `tag` (weakly compared) or is `*`."""
    if header is None:
        return False
    bare = tag.removeprefix("W/")
    return any(
        candidate.strip() == "*" or candidate.strip().removeprefix("W/") == bare
        for candidate in header.split(",")
    )


def conditional(request: Request, body: bytes, *, tag: str | None = None) -> Response:
    """A 200 with a strong ETag, or a bodiless 304 when the client's copy is current."""
    # Strong: the tag is the digest of these very bytes, so equal tags mean equal bodies.
    tag = tag or '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(body, media_type="application/json", headers={"ETag": tag})
