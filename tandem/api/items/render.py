"""Items straight from domain records to JSON bytes, with orjson.

The pydantic models in schemas.py describe these answers (OpenAPI, `response_model`);
this module writes the very same bytes without building them, from the item's one
document (`records.DOCUMENT`, the events' too): a page of 50 items through
`model_construct` and `model_dump_json` cost 2.0 ms of CPU here, through plain
dicts and orjson 0.31 ms (docs/performance.md). The bytes are pydantic's: the same
keys in the same order, decimals as strings, UTC datetimes ending in `Z`, compact
separators. tests/api/test_render.py holds the two renderings byte-equal on real
rows, so any drift fails a test.
"""

from __future__ import annotations

from typing import Any

import orjson

from tandem.domain import global_ids
from tandem.domain.items.records import DOCUMENT, ItemRecord
from tandem.domain.pages import Page, Slice
from tandem.domain.users.records import UserRecord
from tandem.http.versions.render import Shape

# pydantic writes a UTC datetime as `…Z`; orjson does too with this option.
OPTIONS = orjson.OPT_UTC_Z


# The item's document, datetimes left to orjson (the same bytes, written faster).
item_fields = DOCUMENT.encode_native


def owner_fields(owner: UserRecord) -> dict[str, Any]:
    """The owner's public view (UserPublic)."""
    return {
        "id": owner.id,
        "node_id": global_ids.encode("User", owner.id),
        "name": owner.name,
        "created_at": owner.created_at,
    }


def expanded_fields(item: ItemRecord, owner: UserRecord) -> dict[str, Any]:
    fields = item_fields(item)
    fields["owner"] = owner_fields(owner)
    return fields


# `shape`: how the API version serving the request writes an item (tandem/http/versions);
# None (the newest) writes the document as it is.


def item_json(item: ItemRecord, shape: Shape | None = None) -> bytes:
    fields = item_fields(item)
    return orjson.dumps(fields if shape is None else shape(fields), option=OPTIONS)


def expanded_json(item: ItemRecord, owner: UserRecord, shape: Shape | None = None) -> bytes:
    fields = expanded_fields(item, owner)
    return orjson.dumps(fields if shape is None else shape(fields), option=OPTIONS)


def _items(
    items: list[ItemRecord], owners: dict[int, UserRecord] | None, shape: Shape | None = None
) -> list[dict[str, Any]]:
    if owners is None:
        shown = [item_fields(item) for item in items]
    else:
        shown = [expanded_fields(item, owners[item.owner_id]) for item in items]
    return shown if shape is None else [shape(fields) for fields in shown]


def offset_page_json(
    page: Page[ItemRecord],
    owners: dict[int, UserRecord] | None = None,
    shape: Shape | None = None,
) -> bytes:
    """An ItemPage read by page number: with `total`, `page` and `pages`."""
    return orjson.dumps(
        {
            "items": _items(page.items, owners, shape),
            "total": page.total,
            "page": page.page,
            "size": page.size,
            "pages": page.pages,
            "next_cursor": page.next_cursor,
            "has_more": page.has_more,
        },
        option=OPTIONS,
    )


def cursor_page_json(
    page: Slice[ItemRecord],
    size: int,
    owners: dict[int, UserRecord] | None = None,
    shape: Shape | None = None,
) -> bytes:
    """An ItemPage read after a cursor: no `total`, `page` or `pages`."""
    return orjson.dumps(
        {
            "items": _items(page.items, owners, shape),
            "size": size,
            "next_cursor": page.next_cursor,
            "has_more": page.has_more,
        },
        option=OPTIONS,
    )
