"""REST items are written by orjson (tandem/api/items/render.py): the bytes must be pydantic's.

Each answer the REST face sends for items is compared, byte for byte, with what
the documented pydantic models (ItemOut, ItemExpanded, ItemPage) would write for
the same rows read back from the database: prices as strings (null, 0.00, the
maximum), datetimes with and without microseconds, null and multi-line
descriptions, control characters and non-ASCII text, tags, an owner embedded.
Equal bytes also mean equal ETags, so a client's cached copy stays current
across the change.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tandem.api.items.schemas import ItemPage, expanded_out, item_out
from tandem.api.schemas import page_body
from tandem.domain.items.commands import ItemQuery
from tandem.domain.pages import Window
from tandem.domain.principal import Principal
from tandem.domain.services import Services
from tests.factories import Account, make_account, make_item

ITEMS = "/api/v1/items"
ODD_TEXT = 'Tab\there, "quotes", back\\slash, \x01\x1f\x7f, é, 中文, 😀, \u2028\u2029 </script>'
ROWS: list[dict[str, Any]] = [
    {"title": "Plain", "price": "19.99", "tags": ["lamp", "oak"]},
    {"title": ODD_TEXT, "description": ODD_TEXT, "price": "0.00"},
    {"title": "Dear", "description": "Line one\nline two\r\n", "price": "99999999.99"},
    {"title": "Unpriced draft", "status": "draft", "tags": []},
    {"title": "Archived", "status": "archived", "price": "0.10", "tags": ["ü", "😀"]},
]


async def _seed(services: Services, client: httpx.AsyncClient) -> tuple[Account, Principal]:
    owner = await make_account(services, client, name="Zoë")
    for row in ROWS:
        await make_item(client, owner, **row)
    # Datetimes on a whole second and with trailing zeros, as well as now()'s microseconds.
    async with services.database.transaction() as uow:
        await uow.connection.raw.execute(
            "UPDATE items SET created_at = timestamptz '2026-01-02 03:04:05+00', "
            "updated_at = timestamptz '2026-01-02 03:04:05.1+00' WHERE title = 'Plain'"
        )
        # Stored directly: a name with control characters is refused now, but one kept
        # from before must still render exactly.
        await uow.connection.raw.execute(
            "UPDATE users SET created_at = timestamptz '2025-05-06 07:08:09.000500+00', name = $1",
            f"Zoë {ODD_TEXT}",
        )
    principal = await services.auth.authenticate(owner.access_token)
    return owner, principal


def _page(page: Any, *, owners: dict[int, Any] | None, size: int, cursor: bool) -> bytes:
    """The reference: the page as the pydantic models write it."""
    items = [
        item_out(item) if owners is None else expanded_out(item, owners[item.owner_id])
        for item in page.items
    ]
    if cursor:
        out = ItemPage(items=items, size=size, next_cursor=page.next_cursor, has_more=page.has_more)
    else:
        out = ItemPage(
            items=items,
            total=page.total,
            page=page.page,
            size=page.size,
            pages=page.pages,
            next_cursor=page.next_cursor,
            has_more=page.has_more,
        )
    return page_body(out, cursor_mode=cursor)


async def test_an_item_read_is_byte_equal_to_the_pydantic_rendering(client, services):
    owner, principal = await _seed(services, client)
    listed = await client.get(ITEMS, params={"size": 100}, headers=owner.headers)
    assert len(listed.json()["items"]) == len(ROWS)
    for shown in listed.json()["items"]:
        item, user = await services.items.get_with_owner(principal, shown["id"])
        plain = await client.get(f"{ITEMS}/{item.id}", headers=owner.headers)
        assert plain.content == item_out(item).model_dump_json().encode()
        expanded = await client.get(f"{ITEMS}/{item.id}?expand=owner", headers=owner.headers)
        assert expanded.content == expanded_out(item, user).model_dump_json().encode()


@pytest.mark.parametrize("expand", [False, True])
async def test_a_page_is_byte_equal_to_the_pydantic_rendering(client, services, expand):
    owner, principal = await _seed(services, client)
    params = {"size": 2, "page": 2, **({"expand": "owner"} if expand else {})}
    response = await client.get(ITEMS, params=params, headers=owner.headers)
    assert response.status_code == 200
    query = ItemQuery()
    page = await services.items.page(principal, query, page=2, size=2, owners=expand)
    owners = page.owners if expand else None
    assert response.content == _page(page, owners=owners, size=2, cursor=False)
    assert response.json()["total"] == len(ROWS)


@pytest.mark.parametrize("expand", [False, True])
async def test_a_cursor_page_is_byte_equal_to_the_pydantic_rendering(client, services, expand):
    owner, principal = await _seed(services, client)
    extra = {"expand": "owner"} if expand else {}
    first = await client.get(
        ITEMS, params={"size": 3, "cursor": "", **extra}, headers=owner.headers
    )
    after = first.json()["next_cursor"]
    assert after is not None
    response = await client.get(
        ITEMS, params={"size": 3, "cursor": after, **extra}, headers=owner.headers
    )
    window = Window(size=3, cursor=after, loc=("query", "cursor"))
    page = await services.items.slice(principal, ItemQuery(), window, owners=expand)
    owners = page.owners if expand else None
    assert len(page.items) == len(ROWS) - 3
    assert response.content == _page(page, owners=owners, size=3, cursor=True)
    assert "total" not in response.json()


async def test_writes_answer_the_same_bytes_as_a_read(client, services):
    owner, _ = await _seed(services, client)
    created = await client.post(
        ITEMS, json={"title": ODD_TEXT, "price": "5.50"}, headers=owner.headers
    )
    assert created.status_code == 201
    read = await client.get(created.headers["location"], headers=owner.headers)
    assert created.content == read.content
    updated = await client.patch(
        created.headers["location"], json={"description": "now described"}, headers=owner.headers
    )
    assert updated.status_code == 200
    read = await client.get(created.headers["location"], headers=owner.headers)
    assert updated.content == read.content
