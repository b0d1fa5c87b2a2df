"""API4 for search: a search is charged what it costs and stopped at a timeout of its own.

The assessment's worst case: 600 items of 10 KB descriptions, a 10-word `sort=relevance`
search took 7 s for 1 rate point, and four aliased `items(filter: {q})` cost 1 point in
all. Each search now adds SEARCH_COST points, on both faces, for each field that searches,
and a search statement is stopped at DB_SEARCH_TIMEOUT_SECONDS with a 503 in words.
"""

from __future__ import annotations

import random

import pytest

from tandem.domain.rate_limits import SEARCH_COST
from tandem.persistence.database import Database
from tests.factories import make_user
from tests.security.helpers import PROBLEM, codes, fresh_window, graphql, serving
from tests.security.test_api4_resource_consumption import quota, signed_in

HOURLY = 3600
WORDS = "the of and to in is you that it he was for on are as with his they at be this have from"
Q = "the and that with have from this they were which"  # ten of the most frequent words
FOUR_SEARCHES = (
    "query FourSearches {"
    + " ".join(
        f's{n}: items(first: 100, filter: {{q: "{Q}"}}, orderBy: RELEVANCE) {{ nodes {{ id }} }}'
        for n in range(4)
    )
    + " }"
)


async def test_a_rest_search_costs_search_cost_more_than_a_plain_page(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="1000/hour") as app:
        headers = await signed_in(app.client, ada.email)
        plain = await app.client.get("/api/v1/items", headers=headers)
        searched = await app.client.get("/api/v1/items", params={"q": "lamp"}, headers=headers)
        blank = await app.client.get("/api/v1/items", params={"q": "   "}, headers=headers)
    assert [plain.status_code, searched.status_code, blank.status_code] == [200, 200, 200]
    assert quota(plain)["used"] == 1
    assert quota(searched)["used"] - quota(plain)["used"] == 1 + SEARCH_COST
    assert quota(blank)["used"] - quota(searched)["used"] == 1  # no word: no search


async def test_a_rest_search_is_refused_when_the_budget_cannot_pay_for_it(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit=f"{SEARCH_COST}/hour") as app:
        headers = await signed_in(app.client, ada.email)
        searched = await app.client.get("/api/v1/items", params={"q": "lamp"}, headers=headers)
        after = await app.client.get("/api/v1/items", headers=headers)
    assert searched.status_code == 429, searched.text
    # The refusal cost nothing: the call's point was given back with it.
    assert quota(searched)["used"] == 0
    assert after.status_code == 200 and quota(after)["used"] == 1
    assert searched.headers["content-type"] == PROBLEM
    assert searched.json()["code"] == "RATE_LIMITED"
    assert f"costs {SEARCH_COST}" in searched.json()["detail"]


async def test_every_aliased_graphql_search_is_charged(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    async with serving(settings, services.database, rate_limit="1000/hour") as app:
        headers = await signed_in(app.client, ada.email)
        plain = await graphql(app.client, "{ items(first: 100) { nodes { id } } }", headers=headers)
        four = await graphql(app.client, FOUR_SEARCHES, headers=headers)
        by_variable = await graphql(
            app.client,
            "query($f: ItemFilter) { a: items(filter: $f) { nodes { id } }"
            " b: items(filter: $f) { nodes { id } } }",
            {"f": {"q": "lamp"}},
            headers=headers,
        )
        no_words = await graphql(
            app.client,
            "query($f: ItemFilter) { items(filter: $f) { nodes { id } } }",
            {"f": {"q": "  "}},
            headers=headers,
        )
    assert plain.json()["extensions"]["cost"]["requestedQueryCost"] == 1
    assert four.json()["extensions"]["cost"]["requestedQueryCost"] == 1 + 4 * SEARCH_COST
    # What the four searches really cost is what they were charged, not a plain page's.
    assert four.json()["extensions"]["cost"]["actualQueryCost"] == 1 + 4 * SEARCH_COST
    assert no_words.json()["extensions"]["cost"]["actualQueryCost"] == 1
    assert quota(four)["used"] - quota(plain)["used"] == 1 + 4 * SEARCH_COST
    assert by_variable.json()["extensions"]["cost"]["requestedQueryCost"] == 1 + 2 * SEARCH_COST
    assert no_words.json()["extensions"]["cost"]["requestedQueryCost"] == 1


async def test_a_search_in_each_owners_items_is_charged_per_owner(settings, services):
    await fresh_window(HOURLY)
    ada = await make_user(services, role="admin")
    query = (
        '{ users(first: 5) { nodes { items(first: 10, filter: {q: "lamp"}) { nodes { id } } } } }'
    )
    async with serving(settings, services.database, rate_limit="1000/hour") as app:
        headers = await signed_in(app.client, ada.email)
        nested = await graphql(app.client, query, headers=headers)
    cost = nested.json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 + 5 * SEARCH_COST
    # One search ran for each user listed (at most 5; as many as there are users).
    users = len(nested.json()["data"]["users"]["nodes"])
    assert cost["actualQueryCost"] == 1 + users * SEARCH_COST


def _description(rng: random.Random) -> str:
    words = WORDS.split()
    return " ".join(rng.choice(words) for _ in range(2600))[:10_000]


@pytest.fixture
async def heavy_search(services):
    """300 items of 10 KB descriptions of frequent words: the assessment's worst case, halved."""
    owner = await make_user(services)
    rng = random.Random(7)
    async with services.database.transaction() as uow:
        await uow.connection.raw.executemany(
            "INSERT INTO items (owner_id, title, description, status) VALUES ($1, $2, $3, 'published')",
            [(owner.id, f"Item {n}", _description(rng)) for n in range(300)],
        )
    return owner


async def test_a_slow_search_is_stopped_at_its_own_timeout_on_both_faces(
    settings, services, heavy_search
):
    await fresh_window(HOURLY)
    ada = await make_user(services)
    changed = settings.model_copy(update={"db_search_timeout_seconds": 0.05})
    database = Database.from_settings(changed, pool_size=2)
    try:
        async with serving(changed, database, rate_limit="1000/hour") as app:
            headers = await signed_in(app.client, ada.email)
            rest = await app.client.get(
                "/api/v1/items", params={"q": Q, "sort": "relevance", "size": 100}, headers=headers
            )
            gql = await graphql(app.client, FOUR_SEARCHES, headers=headers)
            # The connections that ran the stopped searches serve the next request.
            after = [
                await app.client.get("/api/v1/items", params={"size": 1}, headers=headers)
                for _ in range(3)
            ]
    finally:
        await database.dispose()
    assert rest.status_code == 503, rest.text[:300]
    assert rest.headers["content-type"] == PROBLEM
    assert rest.json()["code"] == "UNAVAILABLE"
    assert "search took longer than 0.05 s" in rest.json()["detail"]
    assert int(rest.headers["retry-after"]) > 0
    body = gql.json()
    assert set(codes(body)) == {"UNAVAILABLE"}, body
    assert all("search took longer" in error["message"] for error in body["errors"])
    assert [answer.status_code for answer in after] == [200, 200, 200]
