"""Conditional requests: strong ETags on item and user reads and lists, 304, and 412."""

from __future__ import annotations

import pytest

from tests.api.assertions import assert_problem
from tests.factories import make_account, make_item

ME = "/api/v1/users/me"


def assert_strong(tag: str) -> None:
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/"), tag


@pytest.mark.parametrize("path", [ME, "/api/v1/users", "/api/v1/items", "/api/v1/users/{id}"])
async def test_reads_and_lists_carry_a_strong_etag_and_answer_304(client, services, path):
    admin = await make_account(services, client, role="admin")
    await make_item(client, admin)
    url = path.format(id=admin.id)
    first = await client.get(url, headers=admin.headers)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert_strong(tag)
    again = await client.get(url, headers={**admin.headers, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    # A change makes the copy stale.
    await client.patch(ME, json={"name": "Renamed"}, headers=admin.headers)
    await make_item(client, admin)
    changed = await client.get(url, headers={**admin.headers, "If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag


async def test_the_public_and_private_views_have_their_own_tags(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    own = await client.get(f"/api/v1/users/{ada.id}", headers=ada.headers)
    seen = await client.get(f"/api/v1/users/{ada.id}", headers=bob.headers)
    assert "email" in own.json() and "email" not in seen.json()
    assert own.headers["etag"] != seen.headers["etag"]


async def test_if_match_guards_changes_to_yourself(client, services):
    ada = await make_account(services, client)
    tag = (await client.get(ME, headers=ada.headers)).headers["etag"]
    renamed = await client.patch(
        ME, json={"name": "Ada L."}, headers={**ada.headers, "If-Match": tag}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["etag"] != tag
    stale = await client.patch(ME, json={"name": "Lost"}, headers={**ada.headers, "If-Match": tag})
    assert_problem(stale, 412, "PRECONDITION_FAILED")
    assert (await client.get(ME, headers=ada.headers)).json()["name"] == "Ada L."
    assert_problem(
        await client.delete(ME, headers={**ada.headers, "If-Match": tag}),
        412,
        "PRECONDITION_FAILED",
    )
    current = renamed.headers["etag"]
    assert (
        await client.delete(ME, headers={**ada.headers, "If-Match": current})
    ).status_code == 204


async def test_if_match_guards_an_administrators_changes(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    url = f"/api/v1/users/{ada.id}"
    tag = (await client.get(url, headers=admin.headers)).headers["etag"]
    await client.patch(
        ME, json={"name": "Ada herself"}, headers=ada.headers
    )  # someone else's change
    stale = await client.patch(
        url, json={"role": "admin"}, headers={**admin.headers, "If-Match": tag}
    )
    assert_problem(stale, 412, "PRECONDITION_FAILED")
    assert (await client.get(url, headers=admin.headers)).json()["role"] == "member"
    assert_problem(
        await client.delete(url, headers={**admin.headers, "If-Match": tag}),
        412,
        "PRECONDITION_FAILED",
    )
    fresh = (await client.get(url, headers=admin.headers)).headers["etag"]
    ok = await client.patch(
        url, json={"role": "admin"}, headers={**admin.headers, "If-Match": fresh}
    )
    assert ok.status_code == 200
    assert (
        await client.delete(url, headers={**admin.headers, "If-Match": ok.headers["etag"]})
    ).status_code == 204
    # Gone now: an If-Match cannot hold (412); without one, it is simply not found.
    gone = await client.patch(url, json={"name": "X"}, headers={**admin.headers, "If-Match": fresh})
    assert_problem(gone, 412, "PRECONDITION_FAILED")
    assert_problem(
        await client.patch(url, json={"name": "X"}, headers=admin.headers), 404, "NOT_FOUND"
    )


@pytest.mark.parametrize("if_match", ["current", "*"])
async def test_a_stale_if_match_on_an_item_already_gone_is_412_not_404(client, services, if_match):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    url = f"/api/v1/items/{item['id']}"
    tag = (await client.get(url, headers=ada.headers)).headers["etag"]
    assert (await client.delete(url, headers=ada.headers)).status_code == 204
    header = {"If-Match": tag if if_match == "current" else "*"}
    assert_problem(
        await client.patch(url, json={"title": "x"}, headers={**ada.headers, **header}),
        412,
        "PRECONDITION_FAILED",
    )
    assert_problem(
        await client.delete(url, headers={**ada.headers, **header}), 412, "PRECONDITION_FAILED"
    )
    assert_problem(await client.delete(url, headers=ada.headers), 404, "NOT_FOUND")


async def test_a_foreign_or_weak_tag_never_matches_a_user(client, services):
    ada = await make_account(services, client)
    tag = (await client.get(ME, headers=ada.headers)).headers["etag"]
    for foreign in ['"item-1-v1"', "W/" + tag, '"user-999-1-private"']:
        response = await client.patch(
            ME, json={"name": "X"}, headers={**ada.headers, "If-Match": foreign}
        )
        assert_problem(response, 412, "PRECONDITION_FAILED")


async def test_a_public_etag_changes_only_with_the_public_fields(client, services):
    # Finding 12: the public tag was built from the private `updated_at`, so anyone saw
    # when another account changed its password, role or state.
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    url = f"/api/v1/users/{ada.id}"
    tag = (await client.get(url, headers=bob.headers)).headers["etag"]
    changed = await client.patch(
        ME,
        json={"password": "another long passphrase", "current_password": ada.password},
        headers=ada.headers,
    )
    assert changed.status_code == 200, changed.text
    promoted = await client.patch(url, json={"role": "admin"}, headers=admin.headers)
    assert promoted.status_code == 200, promoted.text
    again = await client.get(url, headers={**bob.headers, "If-None-Match": tag})
    assert again.status_code == 304, again.text
    assert again.headers["etag"] == tag
    await client.patch(url, json={"name": "Ada Renamed"}, headers=admin.headers)
    renamed = await client.get(url, headers={**bob.headers, "If-None-Match": tag})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Ada Renamed"
    assert renamed.headers["etag"] != tag


async def test_a_public_etag_is_no_precondition(client, services):
    admin = await make_account(services, client, role="admin")
    ada = await make_account(services, client)
    public = (await client.get(f"/api/v1/users/{admin.id}", headers=ada.headers)).headers["etag"]
    refused = await client.patch(
        ME, json={"name": "X"}, headers={**admin.headers, "If-Match": public}
    )
    assert_problem(refused, 412, "PRECONDITION_FAILED")


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_if_match_compares_an_items_tag_strongly(client, services, method):
    # RFC 9110 §13.1.1: If-Match uses the strong comparison; a weak tag never matches.
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    url = f"/api/v1/items/{item['id']}"
    tag = (await client.get(url, headers=ada.headers)).headers["etag"]
    weak = {**ada.headers, "If-Match": "W/" + tag}
    if method == "PATCH":
        answer = await client.patch(url, json={"title": "weakly"}, headers=weak)
    else:
        answer = await client.delete(url, headers=weak)
    assert_problem(answer, 412, "PRECONDITION_FAILED")
    kept = await client.get(url, headers=ada.headers)
    assert kept.status_code == 200 and kept.json()["title"] == item["title"]
    strong = await client.patch(
        url, json={"title": "strongly"}, headers={**ada.headers, "If-Match": tag}
    )
    assert strong.status_code == 200, strong.text
