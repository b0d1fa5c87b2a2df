"""Seed a realistic benchmark data set fast (COPY), and mint the bench principal's token.

    .venv/bin/python -m bench.seed [--users 1000] [--items 20000]

By default the data goes into a fresh `tandem_bench` database on an embedded
PostgreSQL of its own, under ./.tandem/bench/ (not the development server in
./.tandem/, which the test suite shares): every backend of that server is then
the bench's, so its CPU can be read from /proc and nobody else's queries count.
With BENCH_DATABASE_URL set the data goes there instead,
and that database's `public` schema is dropped and rebuilt first: never point it
at data you want to keep.

The token is minted with Tandem's own AccessTokenCodec after a token family row
is opened, exactly as a password login would, so both servers verify a real token.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import os
import random
import secrets
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "tandem_bench"
DATA_DIR = ROOT / ".tandem" / "bench"
SEED = 20_261_125
# The bench principal is a member (not an admin), so the draft visibility rule is exercised.
PRINCIPAL_ID = 2
ITEM_IDS_FOR_READS = 64

FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Margaret",
    "Ken",
    "Dennis",
    "Radia",
    "Tim",
    "Vint",
    "Bjarne",
    "Guido",
    "Anita",
    "Leslie",
    "Niklaus",
    "John",
    "Hedy",
    "Katherine",
    "Dorothy",
    "Mary",
    "Shafi",
    "Sophie",
    "Linus",
    "Yukihiro",
    "Rasmus",
    "James",
    "Brian",
    "Karen",
    "Carol",
    "Lynn",
    "Joan",
    "Susan",
    "Ivan",
    "Marvin",
    "Seymour",
    "Whitfield",
    "Martin",
    "Rob",
    "Ward",
    "Judea",
    "Robin",
    "Tony",
    "Ole",
    "Kristen",
    "Jean",
    "Fran",
    "Cynthia",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Hamilton",
    "Thompson",
    "Ritchie",
    "Perlman",
    "Berners-Lee",
    "Cerf",
    "Stroustrup",
    "van",
    "Rossum",
    "Borg",
    "Lamport",
    "Wirth",
    "McCarthy",
    "Lamarr",
    "Johnson",
    "Vaughan",
    "Jackson",
    "Goldwasser",
    "Wilson",
    "Torvalds",
    "Matsumoto",
    "Lerdorf",
    "Gosling",
    "Kernighan",
    "Jones",
    "Shaw",
    "Conway",
    "Clarke",
    "Sutherland",
    "Minsky",
    "Papert",
    "Diffie",
    "Hellman",
    "Pike",
    "Cunningham",
    "Pearl",
    "Milner",
    "Hoare",
    "Dahl",
    "Nygaard",
    "Sammet",
    "Bartik",
    "Dwork",
    "Fox",
]
ADJECTIVES = [
    "Vintage",
    "Hand-made",
    "Refurbished",
    "Compact",
    "Heavy-duty",
    "Antique",
    "Portable",
    "Minimalist",
    "Rustic",
    "Modern",
    "Classic",
    "Foldable",
    "Waterproof",
    "Ergonomic",
    "Limited-edition",
    "Solid",
    "Weathered",
    "Polished",
    "Matte",
    "Lightweight",
    "Signed",
    "Original",
    "Restored",
    "Miniature",
    "Oversized",
]
MATERIALS = [
    "brass",
    "oak",
    "walnut",
    "steel",
    "copper",
    "leather",
    "linen",
    "wool",
    "ceramic",
    "glass",
    "bamboo",
    "cast-iron",
    "aluminium",
    "cotton",
    "silver",
    "porcelain",
    "slate",
    "cork",
]
NOUNS = [
    "compass",
    "lamp",
    "desk",
    "chair",
    "kettle",
    "notebook",
    "typewriter",
    "radio",
    "camera",
    "bookshelf",
    "clock",
    "globe",
    "teapot",
    "satchel",
    "telescope",
    "keyboard",
    "microscope",
    "record-player",
    "tripod",
    "bicycle",
    "chess-set",
    "fountain-pen",
    "drafting-table",
    "toolbox",
    "planter",
    "mirror",
    "vase",
    "candlestick",
    "map-case",
    "slide-rule",
    "calculator",
    "abacus",
    "sextant",
    "barometer",
    "loom",
    "easel",
]
TAGS = [
    "home",
    "office",
    "kitchen",
    "garden",
    "outdoor",
    "books",
    "music",
    "photo",
    "hardware",
    "vintage",
    "retro",
    "gift",
    "collectible",
    "handmade",
    "eco",
    "travel",
    "kids",
    "art",
    "science",
    "math",
    "history",
    "tools",
    "decor",
    "lighting",
    "storage",
    "audio",
    "cycling",
    "craft",
    "rare",
    "sale",
    "new",
]
SENTENCES = (
    "Lightly used, works as it should.",
    "Kept in a smoke-free home.",
    "Minor scratches on one side, see photos.",
    "Comes with the original box and manual.",
    "Collection only, or post at cost.",
    "Tested this week; everything works.",
    "A few signs of age, nothing structural.",
    "Bought new two years ago, barely used.",
    "Part of a set; ask for the others.",
    "Cleaned, oiled and ready to use.",
    "Sold as seen.",
    "Would suit a beginner or a collector.",
)


@dataclass(frozen=True)
class Seeded:
    """What the runner needs to know about the seeded database."""

    database_url: str
    secret_key: str
    issuer: str
    audience: str
    token: str
    principal_id: int
    item_ids: list[int]
    users: int
    items: int
    seconds: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy `postgresql+asyncpg://` URL as a DSN asyncpg itself accepts."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def prepare_database() -> str:
    """A fresh, migrated database: BENCH_DATABASE_URL, or `tandem_bench` on the bench's server."""
    from tandem.persistence import migrate

    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        url = sqlalchemy_url(url)
        asyncio.run(_reset_schema(url))
    else:
        from tandem.persistence import embedded

        url = embedded.start(DATA_DIR).ensure_database(DATABASE, fresh=True)
    migrate.upgrade(url)
    return url


async def _reset_schema(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def _users(rng: random.Random, count: int, password_hash: str, now: datetime) -> list[tuple[Any]]:
    rows: list[tuple[Any, ...]] = []
    for user_id in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}.{user_id}@bench.example".lower().replace(" ", "")
        created = now - timedelta(days=900) + timedelta(minutes=user_id * 7)
        role = "admin" if user_id == 1 else "member"
        active = user_id == PRINCIPAL_ID or rng.random() > 0.01
        rows.append((user_id, email, f"{first} {last}", password_hash, role, active, created))
    return rows


def _price(rng: random.Random) -> Decimal | None:
    if rng.random() < 0.08:
        return None
    value = math.exp(rng.uniform(math.log(0.5), math.log(2_000)))
    return Decimal(f"{value:.2f}")


def _title(rng: random.Random) -> str:
    noun = rng.choice(NOUNS).replace("-", " ")
    title = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {noun}"
    extra = rng.random()
    if extra < 0.15:
        title += f", set of {rng.randint(2, 12)}"
    elif extra < 0.25:
        title += f" ({rng.randint(1920, 2024)})"
    return title


def _description(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    return " ".join(rng.sample(SENTENCES, rng.randint(1, 3)))


def _items(rng: random.Random, count: int, users: int, now: datetime) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for item_id in range(1, count + 1):
        # A long tail: a few users own many items, most own a handful.
        owner = 1 + min(users - 1, int(users * rng.random() ** 1.7))
        roll = rng.random()
        status = "published" if roll < 0.78 else ("archived" if roll < 0.90 else "draft")
        created = now - timedelta(seconds=rng.uniform(60, 720 * 86_400))
        changes = rng.choice((0, 0, 0, 1, 1, 2, 4))
        updated = min(now, created + timedelta(days=rng.uniform(0, 30))) if changes else created
        tags = rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3, 4, 5)))
        rows.append(
            (
                item_id,
                owner,
                _title(rng),
                _description(rng),
                _price(rng),
                tags,
                status,
                1 + changes,
                created,
                updated,
            )
        )
    return rows


async def _load(
    url: str, *, users: int, items: int, password_hash: str
) -> tuple[uuid.UUID, list[int]]:
    rng = random.Random(SEED)  # noqa: S311 - reproducible data, not secrets
    now = datetime.now(UTC).replace(microsecond=0)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.copy_records_to_table(
            "users",
            records=_users(rng, users, password_hash, now),
            columns=["id", "email", "name", "password_hash", "role", "is_active", "created_at"],
        )
        item_rows = _items(rng, items, users, now)
        await connection.copy_records_to_table(
            "items",
            records=item_rows,
            columns=[
                "id",
                "owner_id",
                "title",
                "description",
                "price",
                "tags",
                "status",
                "version",
                "created_at",
                "updated_at",
            ],
        )
        for table in ("users", "items"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        family_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO token_families (id, user_id) VALUES ($1, $2)", family_id, PRINCIPAL_ID
        )
        # Planner statistics and the visibility map, as a long-lived database would have them.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    visible = [row[0] for row in item_rows if row[6] != "draft" and row[1] != PRINCIPAL_ID]
    chosen = random.Random(SEED + 1).sample(visible, ITEM_IDS_FOR_READS)  # noqa: S311
    return family_id, sorted(chosen)


def seed(*, users: int = 1_000, items: int = 20_000, secret_key: str | None = None) -> Seeded:
    """Prepare the database, load users and items, open a token family and mint its token."""
    from argon2 import PasswordHasher

    from tandem.config import Settings
    from tandem.domain.auth.tokens import AccessTokenCodec
    from tandem.domain.principal import LOGIN_SCOPES

    started = time.perf_counter()
    secret_key = secret_key or secrets.token_urlsafe(48)
    url = prepare_database()
    settings = Settings(database_url=url, secret_key=secret_key)
    # One real Argon2id hash with Tandem's default cost, shared by every user.
    password_hash = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=1).hash(
        "bench-password"
    )
    family_id, item_ids = asyncio.run(
        _load(url, users=users, items=items, password_hash=password_hash)
    )
    # The codec took one `key` once and a rotation list of `keys` later: accept either.
    key_argument: dict[str, Any] = (
        {"keys": [secret_key]}
        if "keys" in inspect.signature(AccessTokenCodec).parameters
        else {"key": secret_key}
    )
    codec = AccessTokenCodec(
        **key_argument,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=3_600,  # the whole bench, profiles included, fits in an hour
    )
    token = codec.issue(user_id=PRINCIPAL_ID, scopes=LOGIN_SCOPES, family_id=family_id).token
    return Seeded(
        database_url=url,
        secret_key=secret_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        token=token,
        principal_id=PRINCIPAL_ID,
        item_ids=item_ids,
        users=users,
        items=items,
        seconds=round(time.perf_counter() - started, 2),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args(argv)
    seeded = seed(users=args.users, items=args.items)
    print(seeded.to_json())


if __name__ == "__main__":
    main()
