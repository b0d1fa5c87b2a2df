"""No parse in the process reads past GRAPHQL_MAX_TOKENS, and nothing is kept of a refused one.

Issue 20, finding 2: a 1 MiB document of 520k tokens, sent with an Idempotency-Key,
was parsed with no token limit (to tell a mutation from a query) before the limits and
before authentication, and kept in a 512-entry cache: 4-5 s of a blocked event loop
and about 300 MB per request. The router's own operation-type check parsed the same
way without the key. Measured here with tracemalloc, in process: the peak while the
request is answered, and what is still held after it.
"""

from __future__ import annotations

import gc
import tracemalloc
import uuid

import pytest
from graphql import GraphQLSyntaxError, SourceLocation

from tandem.graphql.documents import DOCUMENTS, DocumentCache, parse_document
from tests.factories import make_account

# Just under the 1 MiB body cap once wrapped in JSON: `{ a a a … }`, about 520,000 tokens.
BOMB = "{" + " a" * (520 * 1000) + " }"
# As long as a URL may carry (httpx's limit): about 30,000 tokens.
GET_BOMB = "{" + " a" * 30_000 + " }"
# What a refused request may hold at its peak, and keep afterwards (the old path: ~300 MB).
PEAK_BOUND = 24 * 1024 * 1024
KEPT_BOUND = 2 * 1024 * 1024


def refused(response) -> None:
    assert response.status_code in (200, 400), response.text
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    assert "tokens" in errors[0]["message"], errors


@pytest.mark.parametrize("idempotent", [True, False], ids=["with-idempotency-key", "without-key"])
async def test_a_one_mib_document_is_refused_within_the_limit(client, services, idempotent):
    ada = await make_account(services, client)
    headers = {**ada.headers}
    if idempotent:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    body = {"query": BOMB}
    await client.post("/graphql", json={"query": "{ me { name } }"}, headers=headers)  # warm
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2):
            refused(await client.post("/graphql", json=body, headers=headers))
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < PEAK_BOUND, f"peak {(peak - before) / 2**20:.1f} MiB"
    assert after - before < KEPT_BOUND, f"kept {(after - before) / 2**20:.1f} MiB"


async def test_a_long_document_sent_by_get_is_refused_within_the_limit(client, services):
    ada = await make_account(services, client)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        response = await client.get("/graphql", params={"query": GET_BOMB}, headers=ada.headers)
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    refused(response)
    assert peak - before < PEAK_BOUND, f"peak {(peak - before) / 2**20:.1f} MiB"
    assert after - before < KEPT_BOUND, f"kept {(after - before) / 2**20:.1f} MiB"


def test_the_document_cache_is_bounded_in_bytes_and_keyed_by_digest():
    cache = DocumentCache(max_bytes=4 * 1024 * 1024)
    for number in range(400):
        fields = " ".join(f"f{number}x{i}" for i in range(300))
        cache.parse("{ " + fields + " }", max_tokens=2000)
        assert cache.bytes <= cache.max_bytes
    assert 0 < len(cache) < 400  # the oldest went
    keys = list(cache._entries)
    assert all(isinstance(key, bytes) and len(key) == 36 for key in keys)  # digest + limit


def test_every_parse_stops_at_the_limit_and_keeps_nothing():
    kept = len(DOCUMENTS)
    with pytest.raises(Exception, match="tokens"):
        parse_document(BOMB, max_tokens=2000)
    assert len(DOCUMENTS) == kept


def test_a_refused_document_is_refused_again_from_its_digest_with_the_same_words(monkeypatch):
    from tandem.graphql import documents

    parses = []
    real_parse = documents.parse

    def counting_parse(*args, **kwargs):
        parses.append(1)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(documents, "parse", counting_parse)
    cache = DocumentCache()
    with pytest.raises(GraphQLSyntaxError) as first:
        cache.parse(BOMB, max_tokens=2000)
    with pytest.raises(GraphQLSyntaxError) as again:
        cache.parse(BOMB, max_tokens=2000)
    assert again.value.message == first.value.message
    assert again.value.locations == first.value.locations == [SourceLocation(1, 4001)]
    assert len(parses) == 1  # the router, the Idempotency-Key and the limits ask: one parse
    assert len(cache) == 0  # nothing of it is kept but the digest and where it failed
    with pytest.raises(GraphQLSyntaxError):
        cache.parse("{ a(", max_tokens=2000)
    assert cache.parse("{ a }", max_tokens=2000) is cache.parse("{ a }", max_tokens=2000)


@pytest.mark.parametrize("text", ["{ a\n  b(\n}", "{\r\n a(\r\n x: }", "{ a " + "b " * 3000 + "}"])
def test_an_error_is_located_as_graphql_core_locates_it(text):
    from graphql import Source, parse

    with pytest.raises(GraphQLSyntaxError) as theirs:
        parse(Source(text), max_tokens=2000)
    with pytest.raises(GraphQLSyntaxError) as ours:
        DocumentCache().parse(text, max_tokens=2000)
    assert ours.value.locations == theirs.value.locations
    assert ours.value.message == theirs.value.message
