"""The floor: what the four benchmark paths cost when written by hand.

Raw Starlette + an asyncpg pool + orjson, doing the same work per request as
Tandem: verify the JWT with PyJWT (the same pinned algorithm, type, claims,
issuer and audience), look the principal up with the same statement as
`TokenRepository.principal`, run the same item SQL (the visibility predicate of
`tandem/persistence/items/repository.py`), and answer the same JSON, ETag and
X-Request-ID. `POST /graphql` answers the two benchmark queries only, recognised
by their exact text, with the JSON Tandem's GraphQL face gives, loading owners
in one batched statement.

    DATABASE_URL=... SECRET_KEY=... uvicorn bench.floor:app
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.targets import GRAPHQL_ITEM, GRAPHQL_ITEMS

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "iss", "aud", "scope"]
LEEWAY_SECONDS = 10
ITEMS_READ = "items:read"


ITEM_COLUMNS = (
    "items.id, items.owner_id, items.title, items.description, items.price, items.tags, "
    "items.status, items.version, items.created_at, items.updated_at"
)
# The statements Tandem's repositories compile to (see `TokenRepository.principal`,
# `ItemRepository.get_visible`, `offset_page`, `count` and `keyset_page`).
PRINCIPAL_SQL = (
    "SELECT users.id, users.role, users.is_active, "
    "EXISTS (SELECT * FROM token_families WHERE token_families.id = $1::UUID "
    "AND token_families.revoked_at IS NOT NULL), "
    "EXISTS (SELECT * FROM revoked_access_tokens WHERE revoked_access_tokens.jti = $2::UUID) "
    "FROM users WHERE users.id = $3::BIGINT"
)
VISIBLE = "(items.status != 'draft' OR items.owner_id = $1::BIGINT)"
ITEM_SQL = f"SELECT {ITEM_COLUMNS} FROM items WHERE items.id = $2::BIGINT AND {VISIBLE}"  # noqa: S608
PAGE_SQL = (
    f"SELECT {ITEM_COLUMNS} FROM items WHERE {VISIBLE} "  # noqa: S608
    "ORDER BY items.created_at DESC, items.id DESC LIMIT $2::INTEGER OFFSET $3::INTEGER"
)
COUNT_SQL = f"SELECT count(*) FROM items WHERE {VISIBLE}"  # noqa: S608
OWNERS_SQL = "SELECT users.id, users.name FROM users WHERE users.id = ANY($1::BIGINT[])"

JSON = "application/json"
PROBLEM = "application/problem+json"


class Unauthorized(Exception):
    pass


class Config:
    def __init__(self) -> None:
        self.dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1)
        self.key = os.environ["SECRET_KEY"]
        self.kid = hashlib.sha256(self.key.encode()).hexdigest()[:12]
        self.issuer = os.environ.get("JWT_ISSUER", "tandem")
        self.audience = os.environ.get("JWT_AUDIENCE", "tandem-api")
        self.pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))


config = Config()
pool: asyncpg.Pool | None = None


async def _no_reset(connection: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release: we never change session state (SQLAlchemy neither)."""


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(
        config.dsn,
        min_size=config.pool_size,
        max_size=2 * config.pool_size,  # Tandem: pool_size + max_overflow
        reset=_no_reset,
        server_settings={"application_name": "tandem-floor"},
    )
    try:
        yield
    finally:
        await pool.close()


def _json(body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def _problem(status: int, code: str, detail: str, request_id: str) -> Response:
    body = orjson.dumps(
        {"status": status, "code": code, "detail": detail, "request_id": request_id}
    )
    headers = {"X-Request-ID": request_id}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def _global_id(type_name: str, database_id: int) -> str:
    return base64.b64encode(f"{type_name}:{database_id}".encode()).decode()


def _claims(request: Request) -> tuple[int, uuid.UUID | None, uuid.UUID]:
    """(user id, family id, jti) from a verified access token; Unauthorized otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized
    try:
        token = token.strip()
        header = jwt.get_unverified_header(token)
        # Tandem names its signing key in `kid` (key rotation); a token without one is older.
        if header.get("typ") != ACCESS_TOKEN_TYPE or header.get("kid") not in (None, config.kid):
            raise Unauthorized
        claims = jwt.decode(
            token,
            config.key,
            algorithms=[ALGORITHM],
            audience=config.audience,
            issuer=config.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
        if ITEMS_READ not in str(claims["scope"]).split():
            raise Unauthorized
        family = claims.get("sid")
        return (
            int(claims["sub"]),
            uuid.UUID(family) if family is not None else None,
            uuid.UUID(claims["jti"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        raise Unauthorized from error


async def _principal(connection: asyncpg.Connection, request: Request) -> int:
    """The caller's user id, after the same one-statement lookup Tandem's guard does."""
    user_id, family_id, jti = _claims(request)
    row = await connection.fetchrow(PRINCIPAL_SQL, family_id, jti, user_id)
    if row is None or not row[2] or row[3] or row[4]:
        raise Unauthorized
    return int(row[0])


def _item(row: asyncpg.Record) -> dict[str, Any]:
    price = row[4]
    return {
        "id": row[0],
        "node_id": _global_id("Item", row[0]),
        "title": row[2],
        "description": row[3],
        "price": None if price is None else str(price),
        "tags": row[5],
        "status": row[6],
        "owner_id": row[1],
        "created_at": row[8],
        "updated_at": row[9],
        "revision": row[7],  # Tandem's name since API 2026-12-07 (the newest)
    }


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


def _matches(header: str | None, tag: str) -> bool:
    if header is None:
        return False
    bare = tag.removeprefix("W/")
    return any(c.strip() in ("*", bare) or c.strip() == tag for c in header.split(","))


async def read_item(request: Request) -> Response:
    request_id = uuid.uuid4().hex
    try:
        item_id = int(request.path_params["item_id"])
    except ValueError:
        return _problem(422, "VALIDATION_FAILED", "item_id must be an integer.", request_id)
    assert pool is not None
    async with pool.acquire() as connection:
        try:
            user_id = await _principal(connection, request)
        except Unauthorized:
            return _problem(401, "UNAUTHENTICATED", "Invalid token.", request_id)
        row = await connection.fetchrow(ITEM_SQL, user_id, item_id)
    if row is None:
        return _problem(404, "NOT_FOUND", f"No item with id {item_id}.", request_id)
    tag = f'"item-{row[0]}-v{row[7]}"'
    headers = {"ETag": tag, "X-Request-ID": request_id}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return _json(_dumps(_item(row)), headers=headers)


async def list_items(request: Request) -> Response:
    request_id = uuid.uuid4().hex
    try:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("size", "20"))
    except ValueError:
        return _problem(422, "VALIDATION_FAILED", "page and size must be integers.", request_id)
    if page < 1 or not 1 <= size <= 100:
        return _problem(422, "VALIDATION_FAILED", "page >= 1, size 1..100.", request_id)
    assert pool is not None
    async with pool.acquire() as connection:
        try:
            user_id = await _principal(connection, request)
        except Unauthorized:
            return _problem(401, "UNAUTHENTICATED", "Invalid token.", request_id)
        # One row more than the page: whether a next page exists, as Tandem reads it.
        rows = await connection.fetch(PAGE_SQL, user_id, size + 1, (page - 1) * size)
        total = await connection.fetchval(COUNT_SQL, user_id)
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = _cursor(rows[-1]) if has_more and rows else None
    body = _dumps(
        {
            "items": [_item(row) for row in rows],
            "total": total,
            "page": page,
            "size": size,
            "pages": (total + size - 1) // size,
            "next_cursor": next_cursor,
            "has_more": has_more,
        }
    )
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "X-Request-ID": request_id}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    if next_cursor is not None:
        url = request.url.remove_query_params("page").include_query_params(cursor=next_cursor)
        headers["Link"] = f'<{url}>; rel="next"'
    return _json(body, headers=headers)


# A list's cursor as Tandem makes it (tandem/domain/items/cursors.py): the sort, a digest of
# the filters (none here), the row's sort value and its id, as base64url JSON.
NO_FILTERS = hashlib.sha256(json.dumps([None, None, None, None]).encode()).hexdigest()[:12]


def _cursor(row: asyncpg.Record) -> str:
    raw = json.dumps(["-created_at", NO_FILTERS, row[8].isoformat(), row[0]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_item_id(global_id: object) -> int | None:
    if not isinstance(global_id, str):
        return None
    try:
        raw = base64.b64decode(global_id.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    type_name, _, number = raw.partition(":")
    if type_name != "Item" or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def _node(row: asyncpg.Record, owners: dict[int, str]) -> dict[str, Any]:
    price = row[4]
    return {
        "id": _global_id("Item", row[0]),
        "title": row[2],
        "price": None if price is None else str(price),
        "owner": {"name": owners[row[1]]},
    }


def _graphql_error(status: int, message: str, code: str, path: list[str] | None = None) -> bytes:
    error: dict[str, Any] = {"message": message, "extensions": {"code": code}}
    if path is not None:
        error["path"] = path
    return orjson.dumps({"data": None if path is None else {path[0]: None}, "errors": [error]})


async def graphql(request: Request) -> Response:
    """Only the two benchmark documents, answered as Tandem's GraphQL face answers them."""
    request_id = uuid.uuid4().hex
    headers = {"X-Request-ID": request_id}
    try:
        payload = orjson.loads(await request.body())
        query = payload["query"].strip()
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return _json(_graphql_error(400, "Bad request.", "BAD_REQUEST"), status=400)
    if query not in (GRAPHQL_ITEM, GRAPHQL_ITEMS):
        return _json(_graphql_error(400, "The floor knows two queries.", "BAD_REQUEST"), status=400)
    assert pool is not None
    async with pool.acquire() as connection:
        try:
            user_id = await _principal(connection, request)
        except Unauthorized:
            body = _graphql_error(401, "Invalid token.", "UNAUTHENTICATED")
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return _json(body, status=401, headers=headers)
        if query == GRAPHQL_ITEM:
            item_id = _decode_item_id((payload.get("variables") or {}).get("id"))
            row = None
            if item_id is not None:
                row = await connection.fetchrow(ITEM_SQL, user_id, item_id)
            if row is None:
                body = _graphql_error(200, "No such item.", "NOT_FOUND", ["item"])
                return _json(body, headers=headers)
            owners = await connection.fetch(OWNERS_SQL, [row[1]])
            names = {owner[0]: owner[1] for owner in owners}
            return _json(orjson.dumps({"data": {"item": _node(row, names)}}), headers=headers)
        # Tandem's keyset page: first + 1 rows, to know whether more follow.
        rows = await connection.fetch(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE {VISIBLE} "  # noqa: S608
            "ORDER BY items.created_at DESC, items.id DESC LIMIT $2::INTEGER",
            user_id,
            51,
        )
        rows = rows[:50]
        owners = await connection.fetch(OWNERS_SQL, list({row[1] for row in rows}))
    names = {owner[0]: owner[1] for owner in owners}
    body = orjson.dumps({"data": {"items": {"nodes": [_node(row, names) for row in rows]}}})
    return _json(body, headers=headers)


async def healthz(request: Request) -> Response:
    return _json(b'{"status":"ok"}')


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/api/v1/items", list_items),
        Route("/api/v1/items/{item_id}", read_item),
        Route("/graphql", graphql, methods=["POST"]),
    ],
    lifespan=lifespan,
)
