"""API 2026-12-01 answers byte for byte as Tandem did before versions existed.

`bytes_2026_12_01.txt` holds what main's render.py wrote at a895ae6 (the last commit
before dated versions) for the records below: an item, an item with its owner, an
offset page with owners and a cursor page, one a line. The same records rendered in
2026-12-01 must give those bytes exactly; in 2026-12-07 the only difference is the
item's `revision`. Against a real server, the events API and the item routes hold the
same rule on stored rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from tandem.api.items import render
from tandem.domain.items.records import ItemRecord
from tandem.domain.pages import Page, Slice
from tandem.domain.users.records import Role, UserRecord
from tandem.http.versions import NEWEST, OLDEST
from tandem.http.versions.render import item_shape
from tests.factories import make_account

TODAY = (Path(__file__).parent / "bytes_2026_12_01.txt").read_bytes().splitlines()
T = datetime(2026, 12, 1, 12, 30, 5, 123456, tzinfo=UTC)
U = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
ITEMS = [
    ItemRecord(
        id=41,
        title="Lamp — brass",
        description="Warm\nlight",
        price=Decimal("19.90"),
        tags=["home", "ünï"],
        status="published",
        owner_id=7,
        created_at=T,
        updated_at=U,
        version=3,
    ),
    ItemRecord(
        id=42,
        title='Draft "quoted"',
        description=None,
        price=None,
        tags=[],
        status="draft",
        owner_id=7,
        created_at=T,
        updated_at=T,
        version=1,
    ),
]
OWNER = UserRecord(
    id=7,
    email="o@example.com",
    name="Owner ☂",
    role=Role.MEMBER,
    is_active=True,
    created_at=T,
    updated_at=T,
)


def rendered(shape) -> list[bytes]:
    owners = {7: OWNER}
    return [
        render.item_json(ITEMS[0], shape),
        render.expanded_json(ITEMS[1], OWNER, shape),
        render.offset_page_json(Page(ITEMS, total=2, page=1, size=20), owners, shape),
        render.cursor_page_json(
            Slice(ITEMS, cursor_of=lambda item: f"c{item.id}", has_more=True), 2, None, shape
        ),
    ]


def test_the_oldest_version_writes_todays_bytes():
    assert rendered(item_shape(OLDEST)) == TODAY


def test_the_newest_version_differs_only_by_the_revisions_name():
    assert item_shape(NEWEST) is None  # nothing to undo: the newest path pays nothing
    newest = rendered(None)
    assert newest != TODAY
    assert [line.replace(b'"revision":', b'"version":') for line in newest] == TODAY
    assert all(b'"version":' not in line for line in newest)


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
async def test_served_item_answers_in_each_version(client, services, version):
    account = await make_account(services, client)
    headers = {**account.headers, "Tandem-Version": str(version)}
    created = await client.post("/api/v1/items", json={"title": "Kettle"}, headers=headers)
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    changed = await client.patch(
        f"/api/v1/items/{item_id}", json={"price": "3.50"}, headers=headers
    )
    answers = [
        created,
        changed,
        await client.get(f"/api/v1/items/{item_id}", headers=headers),
        await client.get(f"/api/v1/items/{item_id}?expand=owner", headers=headers),
    ]
    listed = [
        await client.get("/api/v1/items", headers=headers),
        await client.get("/api/v1/items?expand=owner&cursor=", headers=headers),
    ]
    shown, hidden = ("version", "revision") if version == OLDEST else ("revision", "version")
    for answer in answers:
        assert answer.headers["tandem-version"] == str(version)
        body = answer.json()
        assert shown in body and hidden not in body, body
        assert list(body)[10] == shown  # in the same place, last of the item's own fields
    assert answers[1].json()[shown] == 2
    for answer in listed:
        for item in answer.json()["items"]:
            assert shown in item and hidden not in item


async def test_served_events_in_the_oldest_version_are_the_stored_bytes(client, services):
    """Before versions, an event's answer was its row as stored, passed through: the same
    bytes now in 2026-12-01; 2026-12-07 renames the item's `version` in its place."""
    account = await make_account(services, client)
    created = await client.post(
        "/api/v1/items", json={"title": "Tray", "tags": ["a"]}, headers=account.headers
    )
    item_id = created.json()["id"]
    await client.patch(
        f"/api/v1/items/{item_id}", json={"title": "Tray 2"}, headers=account.headers
    )
    await client.delete(f"/api/v1/items/{item_id}", headers=account.headers)
    async with services.database.reader() as uow:
        rows = await uow.connection.raw.fetch(
            "SELECT public_id, type, created_at, data::text FROM events ORDER BY id"
        )
    assert len(rows) == 3

    def today(row) -> dict:
        stamp = row[2].astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {"id": row[0], "type": row[1], "created_at": stamp, "data": orjson.loads(row[3])}

    old = {**account.headers, "Tandem-Version": str(OLDEST)}
    new = {**account.headers, "Tandem-Version": str(NEWEST)}
    page = await client.get("/api/v1/events", headers=old)
    assert page.headers["tandem-version"] == str(OLDEST)
    expected_items = b",".join(orjson.dumps(today(row)) for row in rows)
    assert expected_items in page.content
    for row in rows:
        one = await client.get(f"/api/v1/events/{row[0]}", headers=old)
        assert one.content == orjson.dumps(today(row))
        newest = await client.get(f"/api/v1/events/{row[0]}", headers=new)
        if row[1] == "item.deleted":
            assert newest.content == one.content
        else:
            assert b'"version":' in one.content and b'"revision":' not in one.content
            assert newest.content == one.content.replace(b'"version":', b'"revision":')
