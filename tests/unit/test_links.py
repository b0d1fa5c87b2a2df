"""`next_link` (tandem/api/paging.py) writes the URL Starlette's own two steps write, and a
global id is base64's: both were rewritten to cost less, not to say anything new."""

from __future__ import annotations

import base64
import binascii

import pytest
from starlette.requests import Request

from tandem.api.paging import next_link
from tandem.domain import global_ids

QUERIES = [
    b"",
    b"page=1&size=50",
    b"size=50&page=2&sort=-price",
    b"cursor=old&size=5",
    b"cursor=a&cursor=b&page=3",
    b"q=red+lamp&tag=%C3%BC&tag=oak",
    b"q=%26%3D%2B%25&expand=owner&expand=owner",
    b"empty=&=novalue&flag",
    b"page=&after=x",
    b"a=%zz&b=1",
    b"%E2%82%AC=%F0%9F%98%80",
    b"x=1;y=2",
]


def request_for(query: bytes) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "https",
            "server": ("tandem.example.com", 443),
            "path": "/api/v1/items",
            "root_path": "",
            "query_string": query,
            "headers": [(b"host", b"tandem.example.com")],
        }
    )


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize(("param", "drop"), [("cursor", ("page",)), ("after", ())])
def test_next_link_is_starlettes_two_steps_in_one(query, param, drop):
    request = request_for(query)
    cursor = "eyJrIjpbMSwiYSJdfQ==/+"
    url = request.url.remove_query_params(drop).include_query_params(**{param: cursor})
    assert next_link(request, cursor, param=param, drop=drop) == {"Link": f'<{url}>; rel="next"'}
    assert next_link(request, None, param=param, drop=drop) == {}


@pytest.mark.parametrize("database_id", [0, 1, 42, 2**53, 2**63 - 1])
@pytest.mark.parametrize("type_name", ["Item", "User", "Événement", "100%d"])
def test_a_global_id_is_base64_of_type_and_id(type_name, database_id):
    expected = base64.b64encode(f"{type_name}:{database_id}".encode()).decode()
    assert global_ids.encode(type_name, database_id) == expected
    # the template that pages of nodes format their ids with says the same
    template = global_ids.template(type_name)
    assert binascii.b2a_base64(template % database_id, newline=False).decode() == expected
