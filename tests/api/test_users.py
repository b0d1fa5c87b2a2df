"""The users resource on the REST face: your own account, and administration."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from tests.api.assertions import assert_problem, assert_unauthenticated, error_locs
from tests.factories import PASSWORD, login, make_account, make_item, make_user

ME = "/api/v1/users/me"
USERS = "/api/v1/users"
PUBLIC_KEYS = {"id", "node_id", "name", "created_at"}
PRIVATE_KEYS = PUBLIC_KEYS | {"email", "role", "is_active", "updated_at"}
NEW_PASSWORD = "a brand new passphrase"


async def signs_in(client: httpx.AsyncClient, email: str, password: str) -> bool:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert response.status_code in (200, 400), response.text
    return response.status_code == 200


async def works(client: httpx.AsyncClient, access_token: str) -> bool:
    response = await client.get(ME, headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


# --- /users/me ------------------------------------------------------------------------------


async def test_me_is_the_private_view_of_the_caller(client, services):
    ada = await make_account(services, client, name="Ada")
    response = await client.get(ME, headers=ada.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PRIVATE_KEYS
    assert body["id"] == ada.id
    assert body["email"] == ada.user.email
    assert body["name"] == "Ada"
    assert body["role"] == "member"
    assert body["is_active"] is True


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_me_needs_a_signed_in_caller(client, method):
    response = await client.request(method, ME, json={"name": "x"} if method == "PATCH" else None)
    assert_unauthenticated(response, bad_token=False)


async def test_patch_me_renames(client, services):
    ada = await make_account(services, client, name="Ada")
    response = await client.patch(ME, json={"name": "Ada Lovelace"}, headers=ada.headers)
    assert response.status_code == 200
    assert set(response.json()) == PRIVATE_KEYS
    assert response.json()["name"] == "Ada Lovelace"
    assert (await client.get(ME, headers=ada.headers)).json()["name"] == "Ada Lovelace"


@pytest.mark.parametrize("name", ["", "   ", "n" * 101])
async def test_patch_me_refuses_a_bad_name(client, services, name):
    ada = await make_account(services, client, name="Ada")
    response = await client.patch(ME, json={"name": name}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert (await client.get(ME, headers=ada.headers)).json()["name"] == "Ada"


@pytest.mark.parametrize(
    "field", [{"role": "admin"}, {"is_active": False}, {"email": "new@example.com"}, {"id": 1}]
)
async def test_patch_me_refuses_fields_a_user_may_not_set(client, services, field):
    ada = await make_account(services, client)
    response = await client.patch(ME, json=field, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    me = (await client.get(ME, headers=ada.headers)).json()
    assert (me["role"], me["is_active"], me["email"]) == ("member", True, ada.user.email)


async def test_a_new_password_needs_the_current_one(client, services):
    ada = await make_account(services, client)
    response = await client.patch(ME, json={"password": NEW_PASSWORD}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("body", "current_password")]
    assert NEW_PASSWORD not in response.text
    assert await signs_in(client, ada.user.email, PASSWORD)
    assert not await signs_in(client, ada.user.email, NEW_PASSWORD)


async def test_a_wrong_current_password_is_refused(client, services):
    ada = await make_account(services, client)
    response = await client.patch(
        ME,
        json={"password": NEW_PASSWORD, "current_password": "not my password"},
        headers=ada.headers,
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("body", "current_password")]
    assert "not my password" not in response.text
    assert await signs_in(client, ada.user.email, PASSWORD)
    assert await works(client, ada.access_token)


@pytest.mark.parametrize("length", [7, 129])
async def test_a_new_password_follows_the_length_rules(client, services, length):
    ada = await make_account(services, client)
    response = await client.patch(
        ME, json={"password": "z" * length, "current_password": PASSWORD}, headers=ada.headers
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert "z" * length not in response.text
    assert await signs_in(client, ada.user.email, PASSWORD)


async def test_a_password_change_ends_the_other_sessions_only(client, services):
    ada = await make_account(services, client)
    elsewhere = await login(client, ada.user.email)
    response = await client.patch(
        ME, json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=ada.headers
    )
    assert response.status_code == 200
    assert PASSWORD not in response.text and NEW_PASSWORD not in response.text

    assert not await signs_in(client, ada.user.email, PASSWORD)
    assert await signs_in(client, ada.user.email, NEW_PASSWORD)

    # The other session is over, access and refresh alike...
    assert not await works(client, elsewhere["access_token"])
    stale_refresh = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": elsewhere["refresh_token"]},
    )
    assert stale_refresh.status_code == 400
    assert stale_refresh.json()["error"] == "invalid_grant"
    # ...while the caller's own goes on.
    assert await works(client, ada.access_token)
    own_refresh = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": ada.refresh_token},
    )
    assert own_refresh.status_code == 200


async def test_delete_me_removes_the_account_its_items_and_its_tokens(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    published = await make_item(client, ada)
    draft = await make_item(client, ada, status="draft")

    response = await client.delete(ME, headers=ada.headers)
    assert response.status_code == 204
    assert response.content == b""

    for item in (published, draft):
        gone = await client.get(f"/api/v1/items/{item['id']}", headers=bob.headers)
        assert_problem(gone, 404, "NOT_FOUND")
    listed = (await client.get("/api/v1/items", headers=bob.headers)).json()
    assert listed["total"] == 0
    assert_problem(await client.get(f"{USERS}/{ada.id}", headers=bob.headers), 404, "NOT_FOUND")
    assert_unauthenticated(await client.get(ME, headers=ada.headers), bad_token=True)
    assert not await signs_in(client, ada.user.email, PASSWORD)


async def test_deleting_an_account_leaves_other_accounts_alone(client, services):
    ada = await make_account(services, client)
    bob = await make_account(services, client)
    bobs = await make_item(client, bob)
    await client.delete(ME, headers=ada.headers)
    assert (await client.get(f"/api/v1/items/{bobs['id']}", headers=bob.headers)).status_code == 200
    assert await works(client, bob.access_token)


# --- GET /users (administrators) ------------------------------------------------------------


async def test_listing_users_needs_a_signed_in_caller(client):
    assert_unauthenticated(await client.get(USERS), bad_token=False)


async def test_listing_users_is_forbidden_to_members(client, services):
    ada = await make_account(services, client)
    assert_problem(await client.get(USERS, headers=ada.headers), 403, "FORBIDDEN")


async def test_an_admin_lists_users_as_pages_of_private_views(client, services):
    admin = await make_account(services, client, role="admin")
    others = [await make_user(services) for _ in range(4)]
    ids = [admin.id, *(user.id for user in others)]

    first = await client.get(USERS, params={"size": 2}, headers=admin.headers)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"items", "total", "page", "size", "pages", "next_cursor", "has_more"}
    assert (body["total"], body["page"], body["size"], body["pages"]) == (5, 1, 2, 3)
    assert all(set(user) == PRIVATE_KEYS for user in body["items"])

    seen = []
    for page in (1, 2, 3):
        response = await client.get(USERS, params={"page": page, "size": 2}, headers=admin.headers)
        seen += [user["id"] for user in response.json()["items"]]
    assert seen == ids  # oldest first, every user once

    beyond = (await client.get(USERS, params={"page": 4, "size": 2}, headers=admin.headers)).json()
    assert beyond["items"] == [] and beyond["total"] == 5


async def test_the_user_list_defaults_to_pages_of_20(client, services):
    admin = await make_account(services, client, role="admin")
    body = (await client.get(USERS, headers=admin.headers)).json()
    assert (body["page"], body["size"], body["total"], body["pages"]) == (1, 20, 1, 1)


@pytest.mark.parametrize("size", [1, 100])
async def test_the_user_list_takes_sizes_from_1_to_100(client, services, size):
    admin = await make_account(services, client, role="admin")
    response = await client.get(USERS, params={"size": size}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["size"] == size


@pytest.mark.parametrize(
    "params", [{"size": 0}, {"size": 101}, {"page": 0}, {"size": "many"}], ids=str
)
async def test_the_user_list_refuses_bad_paging(client, services, params):
    admin = await make_account(services, client, role="admin")
    response = await client.get(USERS, params=params, headers=admin.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", next(iter(params)))]


async def test_a_page_beyond_any_possible_user_list_is_a_422_not_a_crash(client, services):
    admin = await make_account(services, client, role="admin")
    response = await client.get(USERS, params={"page": 10**18}, headers=admin.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")


async def test_a_nul_character_in_a_name_is_a_422_not_a_crash(client, services):
    ada = await make_account(services, client, name="Ada")
    response = await client.patch(ME, json={"name": "A\u0000da"}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert (await client.get(ME, headers=ada.headers)).json()["name"] == "Ada"


# --- GET /users/{id} ------------------------------------------------------------------------


async def test_another_user_is_seen_through_the_public_view(client, services):
    ada = await make_account(services, client)
    bob = await make_user(services, name="Bob")
    response = await client.get(f"{USERS}/{bob.id}", headers=ada.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_KEYS
    assert (body["id"], body["name"]) == (bob.id, "Bob")
    assert bob.email not in response.text


async def test_you_see_yourself_through_the_private_view(client, services):
    ada = await make_account(services, client)
    body = (await client.get(f"{USERS}/{ada.id}", headers=ada.headers)).json()
    assert set(body) == PRIVATE_KEYS
    assert body["email"] == ada.user.email


async def test_an_admin_sees_anyone_through_the_private_view(client, services):
    admin = await make_account(services, client, role="admin")
    bob = await make_user(services)
    body = (await client.get(f"{USERS}/{bob.id}", headers=admin.headers)).json()
    assert set(body) == PRIVATE_KEYS
    assert (body["email"], body["role"], body["is_active"]) == (bob.email, "member", True)


async def test_reading_a_user_needs_a_signed_in_caller(client, services):
    bob = await make_user(services)
    assert_unauthenticated(await client.get(f"{USERS}/{bob.id}"), bad_token=False)


async def test_an_unknown_user_is_a_404(client, services):
    ada = await make_account(services, client)
    assert_problem(await client.get(f"{USERS}/999999", headers=ada.headers), 404, "NOT_FOUND")


async def test_a_user_id_that_is_not_a_number_is_a_422(client, services):
    ada = await make_account(services, client)
    response = await client.get(f"{USERS}/abc", headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")


async def test_node_id_is_the_base64_of_the_type_and_id(client, services):
    ada = await make_account(services, client)
    bob = await make_user(services)
    for url in (ME, f"{USERS}/{bob.id}"):
        body = (await client.get(url, headers=ada.headers)).json()
        assert base64.b64decode(body["node_id"]).decode() == f"User:{body['id']}"


# --- PATCH /users/{id} (administrators) -----------------------------------------------------


async def test_an_admin_renames_promotes_and_deactivates_a_user(client, services):
    admin = await make_account(services, client, role="admin")
    bob = await make_user(services)
    url = f"{USERS}/{bob.id}"
    response = await client.patch(
        url, json={"name": "Robert", "role": "admin", "is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PRIVATE_KEYS
    assert (body["name"], body["role"], body["is_active"]) == ("Robert", "admin", False)
    again = (await client.get(url, headers=admin.headers)).json()
    assert (again["name"], again["role"], again["is_active"]) == ("Robert", "admin", False)


async def test_a_member_may_not_change_users(client, services):
    ada = await make_account(services, client)
    bob = await make_user(services)
    for target in (bob.id, ada.id):
        response = await client.patch(
            f"{USERS}/{target}", json={"role": "admin"}, headers=ada.headers
        )
        assert_problem(response, 403, "FORBIDDEN")
    assert (await client.get(ME, headers=ada.headers)).json()["role"] == "member"


async def test_changing_a_user_needs_a_signed_in_caller(client, services):
    bob = await make_user(services)
    response = await client.patch(f"{USERS}/{bob.id}", json={"name": "x"})
    assert_unauthenticated(response, bad_token=False)


async def test_changing_an_unknown_user_is_a_404(client, services):
    admin = await make_account(services, client, role="admin")
    response = await client.patch(f"{USERS}/999999", json={"name": "x"}, headers=admin.headers)
    assert_problem(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [{"role": "owner"}, {"is_active": "sometimes"}, {"name": ""}, {"email": "x@example.com"}],
    ids=["role", "is_active", "name", "email"],
)
async def test_an_admin_change_is_validated(client, services, body):
    admin = await make_account(services, client, role="admin")
    bob = await make_user(services)
    response = await client.patch(f"{USERS}/{bob.id}", json=body, headers=admin.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")


async def test_a_role_change_applies_to_tokens_already_issued(client, services):
    admin = await make_account(services, client, role="admin")
    bob = await make_account(services, client)
    assert (await client.get(USERS, headers=bob.headers)).status_code == 403
    await client.patch(f"{USERS}/{bob.id}", json={"role": "admin"}, headers=admin.headers)
    assert (await client.get(USERS, headers=bob.headers)).status_code == 200
    await client.patch(f"{USERS}/{bob.id}", json={"role": "member"}, headers=admin.headers)
    assert (await client.get(USERS, headers=bob.headers)).status_code == 403


async def test_the_last_active_admin_cannot_be_demoted(client, services):
    admin = await make_account(services, client, role="admin")
    response = await client.patch(
        f"{USERS}/{admin.id}", json={"role": "member"}, headers=admin.headers
    )
    assert_problem(response, 409, "CONFLICT")
    assert (await client.get(ME, headers=admin.headers)).json()["role"] == "admin"


async def test_the_last_active_admin_cannot_be_deactivated(client, services):
    admin = await make_account(services, client, role="admin")
    response = await client.patch(
        f"{USERS}/{admin.id}", json={"is_active": False}, headers=admin.headers
    )
    assert_problem(response, 409, "CONFLICT")
    assert await works(client, admin.access_token)


async def test_the_last_active_admin_cannot_be_deleted(client, services):
    admin = await make_account(services, client, role="admin")
    assert_problem(
        await client.delete(f"{USERS}/{admin.id}", headers=admin.headers), 409, "CONFLICT"
    )
    assert_problem(await client.delete(ME, headers=admin.headers), 409, "CONFLICT")
    assert await works(client, admin.access_token)


async def test_an_inactive_admin_does_not_count_as_another_admin(client, services):
    admin = await make_account(services, client, role="admin")
    dormant = await make_user(services, role="admin")
    deactivate = await client.patch(
        f"{USERS}/{dormant.id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivate.status_code == 200
    response = await client.patch(
        f"{USERS}/{admin.id}", json={"role": "member"}, headers=admin.headers
    )
    assert_problem(response, 409, "CONFLICT")


async def test_an_admin_may_step_down_once_another_is_active(client, services):
    admin = await make_account(services, client, role="admin")
    other = await make_account(services, client, role="admin")
    response = await client.patch(
        f"{USERS}/{admin.id}", json={"role": "member"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["role"] == "member"
    # Now `other` is the last one.
    last = await client.patch(f"{USERS}/{other.id}", json={"role": "member"}, headers=other.headers)
    assert_problem(last, 409, "CONFLICT")


@pytest.mark.parametrize("attempt", range(6))
async def test_two_last_admins_stepping_down_at_once_leave_one_admin(client, services, attempt):
    # Each sees the other as "another active admin"; only one may go. The loser gets a 409,
    # never a 500 from a deadlock. Interleavings vary, hence several attempts.
    first = await make_account(services, client, role="admin")
    second = await make_account(services, client, role="admin")
    responses = await asyncio.gather(
        *(
            client.patch(f"{USERS}/{admin.id}", json={"role": "member"}, headers=admin.headers)
            for admin in (first, second)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    roles = [
        (await client.get(ME, headers=admin.headers)).json()["role"] for admin in (first, second)
    ]
    assert sorted(roles) == ["admin", "member"]


async def test_an_admin_may_leave_once_another_is_active(client, services):
    admin = await make_account(services, client, role="admin")
    await make_user(services, role="admin")
    assert (await client.delete(ME, headers=admin.headers)).status_code == 204


# --- DELETE /users/{id} (administrators) ----------------------------------------------------


async def test_an_admin_deletes_a_user(client, services):
    admin = await make_account(services, client, role="admin")
    bob = await make_account(services, client)
    item = await make_item(client, bob)
    response = await client.delete(f"{USERS}/{bob.id}", headers=admin.headers)
    assert response.status_code == 204
    assert_problem(await client.get(f"{USERS}/{bob.id}", headers=admin.headers), 404, "NOT_FOUND")
    gone = await client.get(f"/api/v1/items/{item['id']}", headers=admin.headers)
    assert_problem(gone, 404, "NOT_FOUND")


async def test_a_member_may_not_delete_users(client, services):
    ada = await make_account(services, client)
    bob = await make_user(services)
    response = await client.delete(f"{USERS}/{bob.id}", headers=ada.headers)
    assert_problem(response, 403, "FORBIDDEN")
    assert (await client.get(f"{USERS}/{bob.id}", headers=ada.headers)).status_code == 200


async def test_deleting_a_user_needs_a_signed_in_caller(client, services):
    bob = await make_user(services)
    assert_unauthenticated(await client.delete(f"{USERS}/{bob.id}"), bad_token=False)


async def test_deleting_an_unknown_user_is_a_404(client, services):
    admin = await make_account(services, client, role="admin")
    response = await client.delete(f"{USERS}/999999", headers=admin.headers)
    assert_problem(response, 404, "NOT_FOUND")
