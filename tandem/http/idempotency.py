"""Idempotency-Key on both faces: every REST POST, and GraphQL requests that run a mutation.

Stripe's semantics; the rules live in the domain (domain/idempotency/service.py), and
this middleware is only their transport:
- it reads the key, the whole body (under the request's size cap) and the caller's
  principal (the guard's own lookup, left in the request state so the guard does not
  pay it twice); an anonymous call, or one with a bad token, goes on without a key;
- it fingerprints the request (method, path, query and the body, JSON compared by
  value), and runs the app inside the domain's scope;
- it holds the answer back until the scope has committed, so a client never hears
  "201" for a write that then failed to commit; then it sends it, or a replay with
  `Idempotent-Replayed: true`.
Stored: answers below 400, and 409s (a definite outcome). Not stored: other 4xx and
5xx, so the key may be retried. Not idempotent here: the OAuth endpoints (RFC 6749
forbids storing token answers, and they hold live credentials).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.domain.errors import DomainError, FieldError, InvalidToken
from tandem.domain.idempotency.records import IdempotentRequest, StoredAnswer
from tandem.domain.idempotency.service import KEY_MAX_LENGTH
from tandem.domain.services import Services
from tandem.http.problems import MEDIA_TYPE, STATUS_FOR_CODE, problem_body, request_id_of

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
# What a replay repeats of the first answer's headers; the rest is this request's own.
KEPT_HEADERS = frozenset(
    {"content-type", "location", "etag", "cache-control", "link", "deprecation", "sunset"}
)
NOT_IDEMPOTENT = ("/auth/token", "/auth/revoke")


class Idempotency:
    def __init__(
        self,
        app: ASGIApp,
        *,
        rest_prefix: str,
        graphql_path: str,
        graphql_kind: Callable[[bytes], str],
    ) -> None:
        """`graphql_kind` tells a GraphQL body's "mutation" from a "batched-mutation"."""
        self.app = app
        self.rest_prefix = rest_prefix
        self.graphql_path = graphql_path
        self.graphql_kind = graphql_kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _header(scope, HEADER)
        graphql = scope["path"] == self.graphql_path
        if key is None or not (graphql or self._rest_post(scope["path"])):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except ConnectionAbortedError:  # the client left before sending its body: no answer
            return
        replay_body = _replaying(body, receive)
        kind = self.graphql_kind(body) if graphql else "rest"
        if kind == "batched-mutation":
            await _refuse(send, scope, graphql, 400, "BAD_REQUEST", _BATCH)
            return
        if kind not in ("mutation", "rest"):  # a query changes nothing: the key is moot
            await self.app(scope, replay_body, send)
            return
        if not 1 <= len(key) <= KEY_MAX_LENGTH:
            await _refuse(send, scope, graphql, 422, "VALIDATION_FAILED", _BAD_KEY)
            return
        services: Services = scope["app"].state.services
        principal = await _principal(scope, services)
        if principal is None:  # anonymous, or a bad token the guard will refuse
            await self.app(scope, replay_body, send)
            return
        request = IdempotentRequest(principal.subject, key, _fingerprint(scope, body))
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            async with services.idempotency.scope(request) as idempotent:
                if idempotent.replay is not None:
                    await _send_replay(send, idempotent.replay)
                    return
                await self.app(scope, replay_body, hold)
                answer = _answer(held)
                if answer is not None and _keeps(answer, graphql):
                    idempotent.keep(answer)
        except DomainError as error:  # IN_USE or REUSED, before anything ran
            status = STATUS_FOR_CODE.get(error.code, 409)
            await _refuse(send, scope, graphql, status, error.code, error.message)
            return
        for message in held:  # committed: now the client may hear it
            await send(message)

    def _rest_post(self, path: str) -> bool:
        if not path.startswith(self.rest_prefix + "/"):
            return False
        return not path.removeprefix(self.rest_prefix).startswith(NOT_IDEMPOTENT)


_BAD_KEY = f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} characters."
_BATCH = "Idempotency-Key is not supported on a batch of operations; send mutations one by one."


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise ConnectionAbortedError
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body already read, handed to the app as if it came now; then the real stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _principal(scope: Scope, services: Services) -> Any:
    """The guard's principal, remembered in the request state for the guard itself."""
    header = _header(scope, b"authorization")
    if header is None:
        return None
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        principal = await services.auth.authenticate(token.strip())
    except InvalidToken:
        return None
    scope.setdefault("state", {})["principal"] = principal
    return principal


def _fingerprint(scope: Scope, body: bytes) -> bytes:
    """The request's identity: a JSON body is compared by value, not by its spacing."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    query = scope.get("query_string", b"")
    head = f"{scope['method']} {scope['path']}?".encode() + query + b"\n"
    return hashlib.sha256(head + canonical).digest()


def _answer(held: list[Message]) -> StoredAnswer | None:
    start = next((m for m in held if m["type"] == "http.response.start"), None)
    if start is None:
        return None
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in start.get("headers", [])
        if name.decode("latin-1").lower() in KEPT_HEADERS
    }
    body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
    return StoredAnswer(int(start["status"]), headers, body)


def _keeps(answer: StoredAnswer, graphql: bool) -> bool:
    """Successes and definite conflicts are kept; other failures may be retried."""
    if answer.status >= 400 and answer.status != 409:
        return False
    if not graphql:
        return True
    try:
        errors = orjson.loads(answer.body).get("errors") or []
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return all((e.get("extensions") or {}).get("code") == "CONFLICT" for e in errors)


async def _send_replay(send: Send, answer: StoredAnswer) -> None:
    headers = [(name.encode(), value.encode()) for name, value in answer.headers.items()]
    headers += [REPLAYED, (b"content-length", str(len(answer.body)).encode())]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _refuse(
    send: Send, scope: Scope, graphql: bool, status: int, code: str, message: str
) -> None:
    request_id = request_id_of(scope)
    if graphql:
        graphql_code = "BAD_USER_INPUT" if code == "VALIDATION_FAILED" else code
        error = {"message": message, "extensions": {"code": graphql_code}}
        body, media_type = orjson.dumps({"errors": [error]}), "application/json"
    else:
        errors = None
        if status == 422:  # every 422 names the field at fault: here, the header
            kind = "string_length" if code == "VALIDATION_FAILED" else "idempotency_key_reused"
            errors = [FieldError(("header", "Idempotency-Key"), message, kind)]
        body = problem_body(
            status=status, code=code, detail=message, request_id=request_id, errors=errors
        )
        media_type = MEDIA_TYPE
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def document_idempotency(openapi: dict[str, Any], *, rest_prefix: str) -> None:
    """Describe the key on every POST this middleware honours, in the OpenAPI document."""
    parameter = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Retry safely: the same key and body replay the first answer (24 h).",
        "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH},
    }
    replayed = {
        "description": "`true` when this is the stored answer to an earlier request",
        "schema": {"type": "string", "enum": ["true"]},
    }
    in_use = {
        "description": "A request with this Idempotency-Key is still in flight",
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for path, operations in openapi.get("paths", {}).items():
        post = operations.get("post")
        if post is None or not path.startswith(rest_prefix + "/"):
            continue
        if path.removeprefix(rest_prefix).startswith(NOT_IDEMPOTENT):
            continue
        post.setdefault("parameters", []).append(parameter)
        post.setdefault("responses", {}).setdefault("409", in_use)
        for status, response in post["responses"].items():
            if status.startswith("2"):
                response.setdefault("headers", {})["Idempotent-Replayed"] = replayed
