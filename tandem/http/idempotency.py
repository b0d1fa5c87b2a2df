"""Idempotency-Key on both faces: every REST POST, and GraphQL requests that run a mutation.

Stripe's semantics; the rules live in the domain (domain/idempotency/service.py), and
this middleware is only their transport:
- it reads the key, the whole body (under the request's size cap) and the caller, from
  the request's admission (tandem/http/admission.py: the route's guard asks the same
  one, so the token is checked once); an anonymous call, or one whose token is bad or
  cannot be checked now, goes on without a key, and its route answers as it always does
  (401; 503 with Retry-After while the database is away);
- the key belongs to the caller's login or client (`owner_of`), and it fingerprints the
  request (method, path, query and the body, JSON compared by value), and runs the app
  inside the domain's scope;
- it holds the answer back until the scope has committed, so a client never hears
  "201" for a write that then failed to commit; then it sends it, or a replay with
  `Idempotent-Replayed: true`, once the caller's role and scopes cover the first
  caller's (FORBIDDEN otherwise);
- what it answers itself (a replay, 409, 422, 403) is charged as the request would have
  been: one point on REST, the operation's cost on GraphQL.
Stored: answers below 400, and 409s (a definite outcome). Not stored: other 4xx and
5xx, so the key may be retried. Not idempotent here: the OAuth endpoints (RFC 6749
forbids storing token answers, and they hold live credentials).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem.domain.errors import DomainError, FieldError, Unauthenticated, Unavailable
from tandem.domain.idempotency.records import IdempotentRequest, StoredAnswer
from tandem.domain.idempotency.service import KEY_MAX_LENGTH
from tandem.domain.rate_limits import REST_CALL_COST, RateLimited
from tandem.domain.services import Services
from tandem.http.admission import Admission, admission_of
from tandem.http.errors import log_unavailable
from tandem.http.problems import MEDIA_TYPE, STATUS_FOR_CODE, problem_body, request_id_of
from tandem.http.versions import OLDEST

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
# What a replay repeats of the first answer's headers; the rest is this request's own.
KEPT_HEADERS = frozenset(
    {"content-type", "location", "etag", "cache-control", "link", "deprecation", "sunset"}
)
NOT_IDEMPOTENT = ("/auth/token", "/auth/revoke")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """What a GraphQL POST body asks for, as the GraphQL face reads it (graphql/idempotency.py):
    "mutation", "batched-mutation" or "other", and what its operation is charged."""

    kind: Literal["mutation", "batched-mutation", "other"]
    cost: int = REST_CALL_COST


class Idempotency:
    def __init__(
        self,
        app: ASGIApp,
        *,
        rest_prefix: str,
        graphql_path: str,
        graphql_kind: Callable[[bytes], GraphQLRequest],
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
        asked = self.graphql_kind(body) if graphql else GraphQLRequest("mutation")
        admission = admission_of(scope)
        refuse = partial(_refuse, send, scope, graphql)
        if asked.kind == "batched-mutation":
            if await _charged(admission, asked.cost, refuse):
                await refuse(400, "BAD_REQUEST", _BATCH)
            return
        if asked.kind != "mutation":  # a query changes nothing: the key is moot
            await self.app(scope, replay_body, send)
            return
        if not 1 <= len(key) <= KEY_MAX_LENGTH:
            if await _charged(admission, asked.cost, refuse):
                await refuse(422, "VALIDATION_FAILED", _BAD_KEY)
            return
        try:
            principal = await admission.caller()
        except DomainError:  # a bad token, or none checkable now: the route says so, as always
            principal = None
        if principal is None:  # anonymous too: the route answers 401 in its face's shape
            await self.app(scope, replay_body, send)
            return
        # A REST answer is written in the version serving it: another version is another
        # request (the oldest adds nothing, so keys stored before versions still match).
        version = None if graphql or admission.version == OLDEST else str(admission.version)
        request = IdempotentRequest.of(principal, key, _fingerprint(scope, body, version))
        admission.idempotency = request
        services: Services = admission.services
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            async with services.idempotency.scope(request) as idempotent:
                if idempotent.replay is not None:
                    # Authorised like the original (the scope checked the authority), and
                    # charged like it, before anything is sent.
                    await admission.charge(asked.cost)
                    await _send_replay(send, idempotent.replay)
                    return
                await self.app(scope, replay_body, hold)
                answer = _answer(held)
                if answer is not None and _keeps(answer, graphql):
                    idempotent.keep(answer)
        except RateLimited as error:
            await refuse(429, error.code, error.message, retry_after=error.retry_after)
            return
        except Unavailable as error:  # the key could not be taken, or the answer not stored
            log_unavailable(error, admission.request_id)
            await refuse(503, error.code, error.message, retry_after=error.retry_after)
            return
        except DomainError as error:  # IN_USE, REUSED or FORBIDDEN, before anything ran
            if await _charged(admission, asked.cost, refuse):
                status = STATUS_FOR_CODE.get(error.code, 409)
                await refuse(status, error.code, error.message)
            return
        for message in held:  # committed: now the client may hear it
            await send(message)

    def _rest_post(self, path: str) -> bool:
        if not path.startswith(self.rest_prefix + "/"):
            return False
        return not path.removeprefix(self.rest_prefix).startswith(NOT_IDEMPOTENT)


async def _charged(admission: Admission, cost: int, refuse: Refuse) -> bool:
    """Charge an answer this middleware gives itself as the request would have been charged
    (the caller's budget, or the address's); False when it answered 429 or 503 instead."""
    try:
        with contextlib.suppress(Unauthenticated):  # a bad token's is charged to its address
            await admission.caller()
        await admission.charge(cost)
    except RateLimited as error:
        await refuse(429, error.code, error.message, retry_after=error.retry_after)
        return False
    except Unavailable as error:
        log_unavailable(error, admission.request_id)
        await refuse(503, error.code, error.message, retry_after=error.retry_after)
        return False
    return True


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


def _fingerprint(scope: Scope, body: bytes, version: str | None = None) -> bytes:
    """The request's identity: a JSON body is compared by value, not by its spacing; the
    dated API version its answer is written in, when not the oldest."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    query = scope.get("query_string", b"")
    head = f"{scope['method']} {scope['path']}?".encode() + query + b"\n"
    if version is not None:
        head += f"Tandem-Version: {version}\n".encode()
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


class Refuse(Protocol):
    async def __call__(
        self, status: int, code: str, message: str, *, retry_after: int = 0
    ) -> None: ...


async def _refuse(
    send: Send,
    scope: Scope,
    graphql: bool,
    status: int,
    code: str,
    message: str,
    *,
    retry_after: int = 0,
) -> None:
    """This middleware's own answer, in the face's shape: GraphQL's errors, or problem+json."""
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
    if retry_after:
        headers.append((b"retry-after", str(retry_after).encode()))
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
