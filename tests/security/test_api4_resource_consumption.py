"""API4 Unrestricted resource consumption: every limit, at its edge, on the face it guards.

GraphQL documents are bounded in depth, aliases, root fields, tokens, batch size and the
nodes they may return (GitHub's method); every request in wall-clock time and body size;
every principal (or anonymous address) in points per window, REST and GraphQL alike.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import argon2
import httpx
import pytest

from tandem.domain import global_ids
from tandem.persistence.counters import MemoryCounters
from tests.factories import PASSWORD, Account, login, make_account, make_item, make_user
from tests.security.helpers import (
    PROBLEM,
    RATE_HEADERS,
    codes,
    fresh_window,
    graphql,
    serving,
)

TOO_COMPLEX = ["QUERY_TOO_COMPLEX"]
MALFORMED = ["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"]


async def too_complex(client: httpx.AsyncClient, account: Account, query: str, **variables: Any):
    """Whether the operation was refused as too complex (and, if so, that it ran nothing)."""
    response = await graphql(client, query, variables, headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    if codes(body) == TOO_COMPLEX:
        assert body.get("data") is None
        return True
    # Accepted: whatever else went wrong, the document itself was sound.
    assert not set(codes(body)) & {*TOO_COMPLEX, *MALFORMED}, body
    return False


def deep(depth: int) -> str:
    """`me { items(first: 1) { nodes { owner { ... id } } } }`, exactly `depth` fields deep."""
    cycle = ["items(first: 1)", "nodes", "owner"]
    fields = ["me"] + [cycle[level % 3] for level in range(depth - 2)]
    assert fields[-1] != "items(first: 1)", "a connection cannot end in `id`"
    query = "id"
    for field in reversed(fields):
        query = f"{field} {{ {query} }}"
    return "{ " + query + " }"


# --- The shape of a document -----------------------------------------------------------------


async def test_depth_10_is_allowed_and_11_is_refused(client, services):
    ada = await make_account(services, client)
    await make_item(client, ada)
    assert not await too_complex(client, ada, deep(10))
    assert await too_complex(client, ada, deep(11))


async def test_fragments_do_not_hide_depth(client, services):
    ada = await make_account(services, client)
    query = """
    query { ...Top }
    fragment Top on Query { me { items(first: 1) { nodes { ...Down } } } }
    fragment Down on Item { owner { items(first: 1) { nodes { owner { items(first: 1) {
      nodes { owner { id } } } } } } } }
    """
    assert await too_complex(client, ada, query)


async def test_a_refused_mutation_changes_nothing(client, services):
    ada = await make_account(services, client)
    mutation = (
        'mutation { createItem(input: {title: "smuggled"}) { owner { items(first: 1) { nodes {'
        " owner { items(first: 1) { nodes { owner { items(first: 1) { nodes { id } } } } } } } } } } }"
    )
    assert await too_complex(client, ada, mutation)
    listed = await client.get("/api/v1/items", headers=ada.headers)
    assert listed.json()["total"] == 0


async def test_deep_introspection_is_refused(client, services):
    ada = await make_account(services, client)
    query = "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
    body = (await graphql(client, query, headers=ada.headers)).json()
    assert body.get("data") is None
    assert codes(body) in (["GRAPHQL_VALIDATION_FAILED"], TOO_COMPLEX)


async def test_30_aliases_are_allowed_and_31_are_refused(client, services):
    ada = await make_account(services, client)

    def aliased(count: int) -> str:
        return "{ me { " + " ".join(f"a{n}: name" for n in range(count)) + " } }"

    assert not await too_complex(client, ada, aliased(30))
    assert await too_complex(client, ada, aliased(31))


async def test_a_fragment_spread_twice_counts_its_aliases_twice(client, services):
    ada = await make_account(services, client)
    aliases = " ".join(f"a{n}: name" for n in range(15))
    query = (
        f"{{ me {{ ...Names }} again: me {{ ...Names }} }} fragment Names on User {{ {aliases} }}"
    )
    assert await too_complex(client, ada, query)  # 15 + 1 + 15 aliases


async def test_20_root_fields_are_allowed_and_21_are_refused(client, services):
    ada = await make_account(services, client)

    def roots(count: int) -> str:
        return "{ " + " ".join(f"r{n}: me {{ id }}" for n in range(count)) + " }"

    assert not await too_complex(client, ada, roots(20))
    assert await too_complex(client, ada, roots(21))


async def test_2000_tokens_are_parsed_and_2001_are_refused(client, services):
    ada = await make_account(services, client)

    def ids(count: int) -> str:  # 12 tokens around `count` string literals
        return "{ nodes(ids: [" + ", ".join(['"SXRlbTox"'] * count) + "]) { id } }"

    assert not await too_complex(client, ada, ids(1988))
    refused = (await graphql(client, ids(1989), headers=ada.headers)).json()
    assert codes(refused) == TOO_COMPLEX
    assert "2000 tokens" in refused["errors"][0]["message"]


async def test_a_batch_of_10_operations_is_allowed_and_11_are_refused(client, services):
    ada = await make_account(services, client)
    create = {"query": 'mutation { createItem(input: {title: "batched"}) { id } }'}
    ten = await client.post("/graphql", json=[create] * 10, headers=ada.headers)
    assert ten.status_code == 200, ten.text
    assert [codes(body) for body in ten.json()] == [[]] * 10

    eleven = await client.post("/graphql", json=[create] * 11, headers=ada.headers)
    assert eleven.status_code == 400
    assert codes(eleven.json()) == TOO_COMPLEX
    listed = await client.get("/api/v1/items", headers=ada.headers)
    assert listed.json()["total"] == 10  # the eleven ran nothing


# --- The node budget: the product of `first` down each path, 50,000 at most --------------------

TEN_THOUSAND = "items(first: 100) { nodes { owner { items(first: 99) { nodes { id } } } } }"
TEN_THOUSAND_EDGES = (
    "items(first: 100) { edges { node { owner { items(first: 99) { edges { node { id } } } } } } }"
)


@pytest.mark.parametrize("connection", [TEN_THOUSAND, TEN_THOUSAND_EDGES], ids=["nodes", "edges"])
async def test_exactly_50000_nodes_are_allowed_and_50001_are_refused(client, services, connection):
    # 100 + 100 x 99 = 10,000 per alias; `nodes` and `edges { node }` count the same.
    ada = await make_account(services, client)
    five = " ".join(f"a{n}: {connection}" for n in range(5))
    assert not await too_complex(client, ada, "{ " + five + " }")
    one_more = "{ " + five + " extra: items(first: 1) { nodes { id } } }"
    assert await too_complex(client, ada, one_more)


async def test_the_budget_multiplies_down_each_path(client, services):
    ada = await make_account(services, client)

    def three_levels(last: int) -> str:
        return (
            "{ items(first: 100) { nodes { owner { items(first: 100) { nodes { owner {"
            f" items(first: {last}) {{ nodes {{ id }} }} }} }} }} }} }} }} }}"
        )

    assert not await too_complex(client, ada, three_levels(3))  # 100 + 10,000 + 30,000
    assert await too_complex(client, ada, three_levels(5))  # 100 + 10,000 + 50,000


THREE_LEVELS = """
query($a: Int, $b: Int, $c: Int) {
  items(first: $a) { nodes { owner { items(first: $b) { nodes { owner {
    items(first: $c) { nodes { id } } } } } } } }
}
"""


async def test_the_budget_reads_first_from_the_variables(client, services):
    ada = await make_account(services, client)
    assert not await too_complex(client, ada, THREE_LEVELS, a=100, b=100, c=3)
    assert await too_complex(client, ada, THREE_LEVELS, a=100, b=100, c=5)


async def test_the_budget_reads_first_from_the_variables_defaults(client, services):
    # A default the client does not send still reaches the resolvers: it must reach the budget.
    ada = await make_account(services, client)
    defaults = THREE_LEVELS.replace(
        "$a: Int, $b: Int, $c: Int", "$a: Int = 100, $b: Int = 100, $c: Int = 5"
    )
    assert await too_complex(client, ada, defaults)
    assert await too_complex(client, ada, defaults, a=100)
    assert not await too_complex(client, ada, defaults, c=3)


async def test_the_budget_counts_nodes_by_id(client, services):
    ada = await make_account(services, client)
    query = "query($ids: [ID!]!) { items(first: 100) { nodes { owner { items(first: 100) { nodes { id } } } } } n: nodes(ids: $ids) { id } }"
    ids = [global_ids.encode("Item", number) for number in range(1, 101)]
    assert not await too_complex(client, ada, query, ids=ids[:99])


async def test_nodes_takes_at_most_100_ids(client, services):
    # Without a cap, 40,000 ids in the variables cost one point and one huge IN list.
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    hundred = await graphql(client, query, {"ids": [item["node_id"]] * 100}, headers=ada.headers)
    assert codes(hundred.json()) == []
    for count in (101, 40_000):
        ids = [global_ids.encode("Item", number) for number in range(1, count + 1)]
        body = (await graphql(client, query, {"ids": ids}, headers=ada.headers)).json()
        assert codes(body) == ["BAD_USER_INPUT"], str(body)[:300]
        assert body["errors"][0]["extensions"]["errors"][0]["loc"] == ["ids"]


@pytest.mark.parametrize(
    "query",
    [
        "{ items(first: 101) { nodes { id } } }",
        "{ me { items(first: 0) { nodes { id } } } }",
        "{ users(first: 1000) { nodes { id } } }",
    ],
)
async def test_first_stays_within_1_to_100(client, services, query):
    admin = await make_account(services, client, role="admin")
    body = (await graphql(client, query, headers=admin.headers)).json()
    assert codes(body) in (["BAD_USER_INPUT"], TOO_COMPLEX)


# --- Wall-clock time and body size -------------------------------------------------------------


async def test_a_request_that_runs_too_long_is_stopped_with_503_on_both_faces(
    settings, services, client, monkeypatch
):
    # Signed in outside the 0.2 s server: only the stuck calls should meet its wall clock.
    headers = (await make_account(services, client)).headers

    async def stuck(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(30)

    async with serving(settings, services.database, request_timeout_seconds=0.2) as app:
        monkeypatch.setattr(app.services.items, "page", stuck)
        monkeypatch.setattr(app.services.items, "slice", stuck)

        rest = await app.client.get("/api/v1/items", headers=headers)
        assert rest.status_code == 503
        assert rest.headers["content-type"] == PROBLEM
        assert rest.json()["code"] == "UNAVAILABLE"
        assert int(rest.headers["retry-after"]) > 0

        response = await graphql(app.client, "{ items { totalCount } }", headers=headers)
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert codes(response.json()) == ["UNAVAILABLE"]


async def test_a_body_over_one_mib_is_refused_on_both_faces(client, services):
    ada = await make_account(services, client)
    huge = "x" * (1024 * 1024)
    rest = await client.post("/api/v1/items", json={"title": huge}, headers=ada.headers)
    query = "mutation($t: String!) { createItem(input: {title: $t}) { id } }"
    gql = await graphql(client, query, {"t": huge}, headers=ada.headers)
    for response in (rest, gql):
        assert response.status_code == 413, response.text[:200]
        assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


# --- Passwords: at most 128 characters, checked before any hashing ----------------------------


@pytest.fixture
def hashed_lengths(monkeypatch) -> list[int]:
    """The length of every password Argon2 is asked to hash or verify."""
    seen: list[int] = []
    real_hash, real_verify = argon2.PasswordHasher.hash, argon2.PasswordHasher.verify

    def hash(self, password, **kwargs):
        seen.append(len(password))
        return real_hash(self, password, **kwargs)

    def verify(self, digest, password):
        seen.append(len(password))
        return real_verify(self, digest, password)

    monkeypatch.setattr(argon2.PasswordHasher, "hash", hash)
    monkeypatch.setattr(argon2.PasswordHasher, "verify", verify)
    return seen


HUGE_PASSWORD = "p" * 500_000


async def test_a_huge_password_is_refused_unhashed_at_registration(client, hashed_lengths):
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "ada@example.com", "name": "Ada", "password": HUGE_PASSWORD},
    )
    assert response.status_code == 422
    assert hashed_lengths == []


async def test_a_huge_password_at_sign_in_is_a_wrong_password_hashed_no_further_than_129(
    client, services, hashed_lengths
):
    ada = await make_user(services)
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": ada.email, "password": HUGE_PASSWORD},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert max(hashed_lengths) <= 129


async def test_a_huge_current_password_is_refused_unhashed_on_both_faces(
    client, services, hashed_lengths
):
    ada = await make_account(services, client)
    hashed_lengths.clear()
    rest = await client.patch(
        "/api/v1/users/me",
        json={"password": "a new password", "current_password": HUGE_PASSWORD},
        headers=ada.headers,
    )
    assert rest.status_code == 422
    assert rest.json()["errors"][0]["loc"][-1] == "current_password"

    mutation = "mutation($input: UpdateMeInput!) { updateMe(input: $input) { name } }"
    variables = {"input": {"password": "a new password", "currentPassword": HUGE_PASSWORD}}
    body = (await graphql(client, mutation, variables, headers=ada.headers)).json()
    assert codes(body) == ["BAD_USER_INPUT"]
    problem = body["errors"][0]["extensions"]["errors"][0]
    assert problem["loc"] == ["input", "currentPassword"] and problem["type"] == "string_too_long"
    assert hashed_lengths == []


# --- The rate limit: points per principal (or anonymous address) per window, both faces --------

HOURLY = 3600
COST_FOUR = "{ " + " ".join(f"a{n}: {TEN_THOUSAND}" for n in range(4)) + " }"  # 4 x (1 + 100)
CREATE = 'mutation { createItem(input: {title: "priced"}) { id } }'


def quota(response: httpx.Response) -> dict[str, int]:
    """The X-RateLimit-* headers, by their last word."""
    return {name.rsplit("-", 1)[1]: int(response.headers[name]) for name in RATE_HEADERS}


async def signed_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    tokens = await login(client, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_rate_limited_rest(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "RATE_LIMITED"
    assert 0 < int(response.headers["retry-after"]) <= HOURLY


def assert_rate_limited_graphql(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert codes(response.json()) == ["RATE_LIMITED"]
    assert response.json().get("data") is None
    assert 0 < int(response.headers["retry-after"]) <= HOURLY


async def test_each_rest_call_costs_one_point_and_the_headers_count_down(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="10/hour") as app:
        headers = await signed_in(app.client, ada.email)
        seen = [quota(await app.client.get("/api/v1/users/me", headers=headers)) for _ in range(10)]
    assert [q["used"] for q in seen] == list(range(1, 11))
    assert [q["remaining"] for q in seen] == list(range(9, -1, -1))
    assert {q["limit"] for q in seen} == {10}
    assert len({q["reset"] for q in seen}) == 1
    assert 0 < seen[0]["reset"] - time.time() <= HOURLY


async def test_a_spent_budget_is_429_on_both_faces_and_a_refusal_spends_nothing(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="10/hour") as app:
        headers = await signed_in(app.client, ada.email)
        for _ in range(10):
            assert (await app.client.get("/api/v1/users/me", headers=headers)).status_code == 200
        rest = await app.client.get("/api/v1/users/me", headers=headers)
        gql = await graphql(app.client, "{ me { id } }", headers=headers)
    assert_rate_limited_rest(rest)
    assert_rate_limited_graphql(gql)
    for refused in (rest, gql):
        assert quota(refused)["used"] == 10 and quota(refused)["remaining"] == 0


async def test_a_graphql_operation_costs_its_computed_cost(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="10/hour") as app:
        headers = await signed_in(app.client, ada.email)
        priced = await graphql(app.client, COST_FOUR, headers=headers)
        cheap = await graphql(app.client, "{ me { id } }", headers=headers)
    cost = priced.json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 4  # 404 possible requests, over 100
    assert cost["actualQueryCost"] == 1  # nothing to list: only the 4 top-level lists ran
    assert cost["throttleStatus"] == {
        "maximumAvailable": 10,
        "currentlyAvailable": 6,
        "resetAt": quota(priced)["reset"],
    }
    assert quota(priced)["used"] == 4
    assert cheap.json()["extensions"]["cost"]["requestedQueryCost"] == 1
    assert quota(cheap)["used"] == 5


async def test_a_mutation_costs_at_least_five(settings, services, client):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="10/hour") as app:
        headers = await signed_in(app.client, ada.email)
        first = await graphql(app.client, CREATE, headers=headers)
        second = await graphql(app.client, CREATE, headers=headers)
        third = await graphql(app.client, CREATE, headers=headers)
    assert first.json()["extensions"]["cost"]["requestedQueryCost"] == 5
    assert first.json()["extensions"]["cost"]["actualQueryCost"] == 5
    assert [quota(first)["used"], quota(second)["used"]] == [5, 10]
    assert_rate_limited_graphql(third)
    # The refused mutation wrote nothing (read through the suite's own app and budget).
    listed = await client.get("/api/v1/items", headers=headers)
    assert listed.json()["total"] == 2


async def test_an_operation_dearer_than_what_is_left_is_refused_but_cheaper_calls_pass(
    settings, services
):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="10/hour") as app:
        headers = await signed_in(app.client, ada.email)
        for _ in range(7):
            await app.client.get("/api/v1/users/me", headers=headers)
        refused = await graphql(app.client, CREATE, headers=headers)  # needs 5, 3 are left
        query = await graphql(app.client, "{ me { id } }", headers=headers)
        rest = [await app.client.get("/api/v1/users/me", headers=headers) for _ in range(3)]
    assert_rate_limited_graphql(refused)
    assert quota(refused)["used"] == 7
    assert query.status_code == 200 and quota(query)["used"] == 8
    assert [r.status_code for r in rest] == [200, 200, 429]


@pytest.mark.parametrize("points", [3, 12])
async def test_the_budget_is_the_rate_limit_setting(settings, services, points):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit=f"{points}/hour") as app:
        headers = await signed_in(app.client, ada.email)
        answers = [
            await app.client.get("/api/v1/users/me", headers=headers) for _ in range(points + 1)
        ]
    assert [r.status_code for r in answers] == [200] * points + [429]
    assert {quota(r)["limit"] for r in answers} == {points}


async def test_rate_limit_off_spends_nothing_and_sends_no_quota(settings, services):
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="off") as app:
        headers = await signed_in(app.client, ada.email)
        answers = [await app.client.get("/api/v1/users/me", headers=headers) for _ in range(15)]
        answers.append(await graphql(app.client, "{ me { id } }", headers=headers))
    assert {r.status_code for r in answers} == {200}
    assert not any(name in r.headers for r in answers for name in RATE_HEADERS)
    assert "throttleStatus" not in answers[-1].json()["extensions"]["cost"]


async def test_anonymous_callers_share_their_addresss_budget_on_both_faces(
    settings, services, client
):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    token = await signed_in(client, ada.email)
    shared = MemoryCounters()
    async with serving(
        settings, services.database, counters=shared, address="10.9.0.1", rate_limit="3/hour"
    ) as here:
        answers = [
            await here.client.get("/api/v1/items"),  # 401, and charged: the guard ran
            await graphql(here.client, "{ me { id } }"),
            await here.client.get("/api/v1/items"),
        ]
        rest = await here.client.get("/api/v1/items")
        gql = await graphql(here.client, "{ me { id } }")
        # A signed-in caller at the same address has a budget of their own.
        own = await here.client.get("/api/v1/users/me", headers=token)
    async with serving(
        settings, services.database, counters=shared, address="10.9.0.2", rate_limit="3/hour"
    ) as elsewhere:
        other_address = await elsewhere.client.get("/api/v1/items")
    assert [quota(r)["used"] for r in answers] == [1, 2, 3]
    assert_rate_limited_rest(rest)
    assert_rate_limited_graphql(gql)
    assert own.status_code == 200 and quota(own)["used"] == 1
    assert other_address.status_code == 401 and quota(other_address)["used"] == 1


async def test_every_charged_response_carries_the_quota(settings, services):
    await fresh_window(HOURLY)
    ada, bob = await make_user(services), await make_user(services)
    async with serving(settings, services.database, rate_limit="100/hour") as app:
        c = app.client
        mine, theirs = await signed_in(c, ada.email), await signed_in(c, bob.email)
        created = await c.post("/api/v1/items", json={"title": "lamp"}, headers=mine)
        url = created.headers["location"]
        etag = created.headers["etag"]
        answers = {
            201: created,
            200: await c.get(url, headers=mine),
            304: await c.get(url, headers={**mine, "If-None-Match": etag}),
            401: await c.get("/api/v1/items"),
            403: await c.patch(url, json={"title": "mine now"}, headers=theirs),
            404: await c.get("/api/v1/items/987654", headers=mine),
            409: await c.post(
                "/api/v1/auth/register",
                json={"email": ada.email, "name": "Ada again", "password": PASSWORD},
            ),
            412: await c.patch(url, json={"title": "x"}, headers={**mine, "If-Match": '"stale"'}),
            422: await c.post("/api/v1/items", json={"title": ""}, headers=mine),
            204: await c.delete(url, headers=mine),
        }
        graphql_answers = [
            await graphql(c, "{ me { id } }", headers=mine),
            await graphql(c, '{ item(id: "SXRlbTo5ODc2NTQ=") { id } }', headers=mine),
            await graphql(c, CREATE, headers=mine),
        ]
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        assert set(RATE_HEADERS) <= set(response.headers), status
    for response in graphql_answers:
        assert set(RATE_HEADERS) <= set(response.headers), response.text
        assert "cost" in response.json()["extensions"]


async def test_a_refused_graphql_document_still_costs_a_point(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="10/hour") as app:
        headers = await signed_in(app.client, ada.email)
        answers = [
            await graphql(app.client, "{ me { ", headers=headers),
            await graphql(app.client, "{ me { nope } }", headers=headers),
            await graphql(app.client, deep(11), headers=headers),
        ]
    assert [quota(r)["used"] for r in answers] == [1, 2, 3]
