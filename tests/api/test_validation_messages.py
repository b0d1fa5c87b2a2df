"""A 422 speaks of the field the client sent, in plain words: never pydantic's.

One table of bad inputs across every request model (items, users, registration,
webhooks, clients) and the query parameters, each with the exact `errors` a client
reads: `loc` as the client wrote it, one message per field.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.assertions import assert_problem
from tests.factories import make_account, make_item

STATUSES = "must be one of: draft, published, archived"
SORTS = "must be one of: -created_at, created_at, title, -title, price, -price, relevance"
EVENTS = "must be one of: item.created, item.updated, item.deleted, *"
PRICE = 'must be a decimal string with at most 2 places, such as "19.99"'
SCOPES = (
    "must be one of: items:read, items:write, users:read, users:write, webhooks:read, "
    "webhooks:write"
)
REGISTER = "/api/v1/auth/register"
ADA = {"email": "ada@example.com", "name": "Ada", "password": "correct horse"}

Case = tuple[str, str, dict[str, Any], list[tuple[list[str | int], str]]]

CASES: list[Case] = [
    # registration
    (
        "post",
        REGISTER,
        {**ADA, "name": "", "password": "short"},
        [
            (["body", "name"], "must be 1 to 100 characters"),
            (["body", "password"], "must be 8 to 128 characters"),
        ],
    ),
    (
        "post",
        REGISTER,
        {**ADA, "email": "not an email"},
        [(["body", "email"], "must be a valid email address")],
    ),
    ("post", REGISTER, {**ADA, "role": "admin"}, [(["body", "role"], "is not allowed")]),
    (
        "post",
        REGISTER,
        {"email": 5, "name": None},
        [
            (["body", "email"], "must be a string"),
            (["body", "name"], "must be a string"),
            (["body", "password"], "is required"),
        ],
    ),
    ("post", REGISTER, [], [(["body"], "must be a JSON object")]),
    # items: create
    ("post", "/api/v1/items", {"title": ""}, [(["body", "title"], "must be 1 to 200 characters")]),
    (
        "post",
        "/api/v1/items",
        {"title": "x" * 201, "price": "1.234", "status": "gone", "tags": ["", "y" * 41]},
        [
            (["body", "title"], "must be 1 to 200 characters"),
            (["body", "price"], PRICE),
            (["body", "tags", 0], "must be 1 to 40 characters"),
            (["body", "tags", 1], "must be 1 to 40 characters"),
            (["body", "status"], STATUSES),
        ],
    ),
    (
        "post",
        "/api/v1/items",
        {"title": "t", "price": "abc", "tags": "a", "description": "d" * 10_001},
        [
            (["body", "description"], "must be at most 10000 characters"),
            (["body", "price"], PRICE),
            (["body", "tags"], "must be a list"),
        ],
    ),
    (
        "post",
        "/api/v1/items",
        {"title": "t", "price": "-1", "tags": ["a"] * 21},
        [
            (["body", "price"], PRICE),
            (["body", "tags"], "must have at most 20 entries"),
        ],
    ),
    # items: update (a title or status may be left out, never null: no union branch shows)
    (
        "patch",
        "/api/v1/items/{item}",
        {"title": "", "status": "gone"},
        [(["body", "title"], "must be 1 to 200 characters"), (["body", "status"], STATUSES)],
    ),
    ("patch", "/api/v1/items/{item}", {"title": 5}, [(["body", "title"], "must be a string")]),
    (
        "patch",
        "/api/v1/items/{item}",
        {"title": None, "status": None},
        [(["body", "title"], "must not be null"), (["body", "status"], "must not be null")],
    ),
    (
        "patch",
        "/api/v1/items/{item}",
        {"owner": 1, "colour": "red"},
        [(["body", "colour"], "is not allowed")],
    ),
    # users
    (
        "patch",
        "/api/v1/users/me",
        {"name": "", "password": "x"},
        [
            (["body", "name"], "must be 1 to 100 characters"),
            (["body", "password"], "must be 8 to 128 characters"),
        ],
    ),
    (
        "patch",
        "/api/v1/users/me",
        {"password": "a new password"},
        [(["body", "current_password"], "is required to set a new password")],
    ),
    (
        "patch",
        "/api/v1/users/{me}",
        {"role": "god", "is_active": "yes"},
        [
            (["body", "role"], "must be one of: admin, member"),
            (["body", "is_active"], "must be true or false"),
        ],
    ),
    # webhooks
    (
        "post",
        "/api/v1/webhooks",
        {"url": "", "events": ["x"]},
        [(["body", "url"], "must be 1 to 2048 characters"), (["body", "events", 0], EVENTS)],
    ),
    (
        "post",
        "/api/v1/webhooks",
        {"url": "https://example.com/h", "events": []},
        [(["body", "events"], "must have 1 to 10 entries")],
    ),
    (
        "post",
        "/api/v1/webhooks",
        {"url": "ftp://example.com/h", "events": ["*"]},
        [(["body", "url"], "must be an http or https URL")],
    ),
    (
        "patch",
        "/api/v1/webhooks/1",
        {"active": "x"},
        [(["body", "active"], "must be true or false")],
    ),
    # API clients
    (
        "post",
        "/api/v1/clients",
        {"name": "", "user_id": "abc", "scopes": ["x"]},
        [
            (["body", "name"], "must be 1 to 100 characters"),
            (["body", "user_id"], "must be an integer"),
            (["body", "scopes", 0], SCOPES),
        ],
    ),
    (
        "post",
        "/api/v1/clients",
        {"name": "n", "user_id": 999_999, "scopes": ["items:read"]},
        [(["body", "user_id"], "no user with id 999999")],
    ),
    # query and path parameters
    (
        "get",
        "/api/v1/items?size=0&page=x&sort=nope&status=x&expand=foo",
        {},
        [
            (["query", "page"], "must be an integer"),
            (["query", "size"], "must be between 1 and 100"),
            (["query", "status"], STATUSES),
            (["query", "sort"], SORTS),
            (["query", "expand", 0], "must be one of: owner"),
        ],
    ),
    (
        "get",
        "/api/v1/items?sort=relevance",
        {},
        [(["query", "sort"], "relevance needs a search: give q")],
    ),
    (
        "get",
        "/api/v1/items?cursor=garbage",
        {},
        [(["query", "cursor"], "is not a cursor of this list")],
    ),
    ("get", "/api/v1/items/abc", {}, [(["path", "item_id"], "must be an integer")]),
    ("get", "/api/v1/events?limit=0", {}, [(["query", "limit"], "must be between 1 and 100")]),
    (
        "get",
        "/api/v1/events?type=nope",
        {},
        [
            (
                ["query", "type"],
                "must be one of: item.created, item.updated, item.deleted, item.* (or several, comma-separated)",
            )
        ],
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), CASES)
async def test_a_bad_input_gets_plain_words_for_each_field(
    client, services, method: str, path: str, body: Any, expected: list[Any]
) -> None:
    admin = await make_account(services, client, role="admin")
    item = await make_item(client, admin)
    path = path.format(item=item["id"], me=admin.id)
    kwargs = {"json": body} if method != "get" else {}
    response = await client.request(method.upper(), path, headers=admin.headers, **kwargs)
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [(error["loc"], error["msg"]) for error in problem["errors"]] == expected
    for loc, msg in expected:
        assert f"{'.'.join(map(str, loc))}: {msg}" in problem["detail"]


async def test_malformed_json_says_where_in_plain_words(client, services):
    ada = await make_account(services, client)
    response = await client.post(
        "/api/v1/items",
        content=b'{"title": ',
        headers={**ada.headers, "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert problem["errors"] == [
        {"loc": ["body"], "msg": "is not valid JSON (at character 10)", "type": "json_invalid"}
    ]


async def test_no_message_speaks_pydantic(client, services):
    """Every case's words are ours: none of pydantic's stock phrases or union tags."""
    admin = await make_account(services, client, role="admin")
    item = await make_item(client, admin)
    for method, path, body, _ in CASES:
        kwargs = {"json": body} if method != "get" else {}
        url = path.format(item=item["id"], me=admin.id)
        text = (await client.request(method.upper(), url, headers=admin.headers, **kwargs)).text
        for phrase in (
            "Input should",
            "String should",
            "constrained-str",
            "none",
            "Field required",
        ):
            assert phrase not in text, (path, body, text)
