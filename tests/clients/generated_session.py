"""The README's first session, through the client openapi-python-client generated, unedited.

Run by the generator's own interpreter (tests/clients/generated_client.py) with the
generated package `tandem_client` on its path:
`python generated_session.py BASE_URL EMAIL [API_VERSION]`; with a version, every call
sends it as `Tandem-Version` (the package was then generated from that version's document).
Each step calls a generated, typed function and checks the type of what it parsed; the
last line printed is a JSON summary for the test to judge.
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from typing import Any

from tandem_client import AuthenticatedClient, Client
from tandem_client.api.auth import issue_token, register
from tandem_client.api.items import create_item, delete_item, get_item, list_items, update_item
from tandem_client.api.users import get_me
from tandem_client.models import (
    BodyIssueToken,
    BodyIssueTokenGrantType,
    ItemCreate,
    ItemExpanded,
    ItemOut,
    ItemPage,
    ItemSort,
    ItemStatus,
    ItemUpdate,
    Problem,
    TokenResponse,
    UserPrivate,
    UserRegister,
)

PASSWORD = "generated-client-password"


def expect(value: Any, kind: type, step: str) -> Any:
    if not isinstance(value, kind):
        raise SystemExit(f"{step}: expected {kind.__name__}, got {type(value).__name__}: {value}")
    return value


def main(base_url: str, email: str, version: str | None = None) -> dict[str, Any]:
    pinned = {} if version is None else {"Tandem-Version": version}
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True, headers=pinned)
    account = register.sync(
        client=anonymous, body=UserRegister(email=email, name="Gen Client", password=PASSWORD)
    )
    expect(account, UserPrivate, "register")
    issued = issue_token.sync(
        client=anonymous,
        body=BodyIssueToken(
            grant_type=BodyIssueTokenGrantType.PASSWORD, username=email, password=PASSWORD
        ),
    )
    expect(issued, TokenResponse, "issueToken")
    assert issued is not None
    signed_in = AuthenticatedClient(
        base_url=base_url,
        token=issued.access_token,
        raise_on_unexpected_status=True,
        headers=pinned,
    )

    created = create_item.sync_detailed(
        client=signed_in,
        body=ItemCreate(title="Desk lamp", price="19.99", tags=["light"], status=ItemStatus.DRAFT),
    )
    lamp = expect(created.parsed, ItemOut, "createItem")
    cheap = expect(
        create_item.sync(client=signed_in, body=ItemCreate(title="Pencil", price="0.50")),
        ItemOut,
        "createItem",
    )

    page = expect(
        list_items.sync(client=signed_in, sort=ItemSort.PRICE_DESC, owner_id=account.id),
        ItemPage,
        "listItems",
    )
    listed = [expect(item, ItemOut, "listItems item") for item in page.items]

    read = get_item.sync_detailed(lamp.id, client=signed_in)
    one = expect(read.parsed, ItemOut, "getItem")
    etag = read.headers["etag"]
    not_modified = get_item.sync_detailed(lamp.id, client=signed_in, if_none_match=etag)
    expanded = expect(
        get_item.sync(lamp.id, client=signed_in, expand=["owner"]), ItemExpanded, "getItem owner"
    )

    updated = update_item.sync_detailed(
        lamp.id,
        client=signed_in,
        body=ItemUpdate(title="Desk lamp, brass", status=ItemStatus.PUBLISHED),
        if_match=etag,
    )
    changed = expect(updated.parsed, ItemOut, "updateItem")
    stale = update_item.sync_detailed(
        lamp.id, client=signed_in, body=ItemUpdate(title="Lost update"), if_match=etag
    )
    refused = expect(stale.parsed, Problem, "updateItem with a stale ETag")

    me = expect(get_me.sync(client=signed_in), UserPrivate, "getMe")
    deleted = delete_item.sync_detailed(lamp.id, client=signed_in)
    gone = get_item.sync_detailed(lamp.id, client=signed_in)
    missing = expect(gone.parsed, Problem, "getItem after deleteItem")
    return {
        "account": {"id": account.id, "email": account.email, "role": str(account.role)},
        "token_type": issued.token_type,
        "created": {
            "status": int(created.status_code),
            "location": created.headers.get("location"),
            "price": lamp.price,
            "item_status": str(lamp.status),
        },
        "listed": [(item.title, item.price) for item in listed],
        "read": {"id": one.id, "etag": etag, "not_modified": int(not_modified.status_code)},
        "expanded_owner": expanded.owner.name,
        # The item's change counter: `revision` from 2026-12-07, `version` before it.
        "updated": {
            "title": changed.title,
            "named": "revision" if hasattr(changed, "revision") else "version",
            "number": changed.revision if hasattr(changed, "revision") else changed.version,
        },
        "served_version": updated.headers.get("tandem-version"),
        "stale": {"status": int(stale.status_code), "code": refused.code},
        "me": {"id": me.id, "email": me.email},
        "deleted": int(deleted.status_code),
        "gone": {"status": int(gone.status_code), "code": missing.code},
        "cheap": cheap.price,
        "ok": int(HTTPStatus.OK),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
