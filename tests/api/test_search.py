"""Search as people expect: substrings, small typos, any script, emoji; the best match first."""

from __future__ import annotations

import pytest

from tests.api.assertions import assert_problem, error_locs
from tests.factories import make_account, make_item
from tests.graphql.helpers import gql

ITEMS = "/api/v1/items"


async def titles(client, account, **params) -> list[str]:
    response = await client.get(ITEMS, params={"size": 100, **params}, headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
async def shop(client, services):
    ada = await make_account(services, client)
    for title, description in [
        ("Desk lamp", "Warm light for late reading"),
        ("Mechanical keyboard", "Brown switches"),
        ("Brass lantern", None),
        ("Green tea 🍵", "Sencha, 100 g"),
        ("Red umbrella", "Folds small ☂️"),
        ("Old velosiped", "Старый велосипед, почти новый"),
        ("Tea towel", "日本語のラベル付き"),
        ("Vintage guitar", "A 1962 guitar with a 50% discount"),
    ]:
        await make_item(client, ada, title=title, description=description)
    return ada


async def test_q_finds_substrings_inside_words(client, shop):
    assert await titles(client, shop, q="amp") == ["Desk lamp"]
    assert await titles(client, shop, q="BOAR") == ["Mechanical keyboard"]
    assert await titles(client, shop, q="switch") == ["Mechanical keyboard"]  # the description


async def test_q_finds_emoji_and_other_symbols(client, shop):
    assert await titles(client, shop, q="🍵") == ["Green tea 🍵"]
    assert await titles(client, shop, q="☂️") == ["Red umbrella"]
    assert await titles(client, shop, q="🎸") == []


async def test_q_finds_text_in_any_script(client, shop):
    assert await titles(client, shop, q="велосипед") == ["Old velosiped"]
    assert await titles(client, shop, q="本語") == ["Tea towel"]


@pytest.mark.parametrize(
    ("typo", "title"),
    [
        ("keybord", "Mechanical keyboard"),  # a letter missing
        ("lantarn", "Brass lantern"),  # a letter wrong
        ("umbrela", "Red umbrella"),
        ("велосипет", "Old velosiped"),  # a letter wrong, in Cyrillic
        ("guitra", "Vintage guitar"),  # two letters swapped
    ],
)
async def test_q_tolerates_a_one_letter_typo(client, shop, typo, title):
    assert await titles(client, shop, q=typo) == [title]


async def test_every_word_must_be_found(client, shop):
    assert await titles(client, shop, q="tea green") == ["Green tea 🍵"]
    assert await titles(client, shop, q="tea 🍵") == ["Green tea 🍵"]
    assert sorted(await titles(client, shop, q="tea")) == ["Green tea 🍵", "Tea towel"]
    assert await titles(client, shop, q="tea keyboard") == []


async def test_like_wildcards_in_q_are_plain_characters(client, shop):
    assert await titles(client, shop, q="50%") == ["Vintage guitar"]
    assert await titles(client, shop, q="_") == []
    assert await titles(client, shop, q="%") == ["Vintage guitar"]


async def test_relevance_ranks_the_exact_title_first(client, services):
    ada = await make_account(services, client)
    for title, description in [
        ("Lamp shade", None),
        ("Reading light", "A lamp for the desk"),
        ("Desk lamp with a long arm", None),
        ("Lamp", "Just a lamp"),
        ("Lampshade, linen", None),
    ]:
        await make_item(client, ada, title=title, description=description)

    ranked = await titles(client, ada, q="lamp", sort="relevance")
    assert ranked[0] == "Lamp"
    assert ranked[-1] == "Reading light"  # found in the description only: last
    assert set(ranked) == {
        "Lamp shade",
        "Reading light",
        "Desk lamp with a long arm",
        "Lamp",
        "Lampshade, linen",
    }
    assert (await titles(client, ada, q="LAMP", sort="relevance"))[0] == "Lamp"
    assert (await titles(client, ada, q="lamp shade", sort="relevance"))[0] == "Lamp shade"


async def test_relevance_without_q_is_a_422(client, services):
    ada = await make_account(services, client)
    response = await client.get(ITEMS, params={"sort": "relevance"}, headers=ada.headers)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert error_locs(response) == [("query", "sort")]


async def test_graphql_orders_by_relevance_and_needs_q(client, services):
    ada = await make_account(services, client)
    for title in ("Lamp shade", "Lamp", "Desk lamp"):
        await make_item(client, ada, title=title)
    query = "query($q: String) { items(filter: {q: $q}, orderBy: RELEVANCE) { nodes { title } } }"
    body = await gql(client, query, {"q": "lamp"}, headers=ada.headers)
    assert body["data"]["items"]["nodes"][0] == {"title": "Lamp"}
    refused = await gql(client, query, {"q": None}, headers=ada.headers)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_too_many_words_are_a_422(client, services):
    ada = await make_account(services, client)
    response = await client.get(
        ITEMS, params={"q": " ".join(f"w{n}" for n in range(11))}, headers=ada.headers
    )
    assert_problem(response, 422, "VALIDATION_FAILED")
