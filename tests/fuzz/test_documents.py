"""The fuzzer reads its documents at import; hold them to what the app actually serves."""

from __future__ import annotations

import httpx
from graphql import (
    build_client_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)

from tests.fuzz.targets import graphql_introspection, openapi_document


async def test_the_fuzzed_openapi_document_is_the_served_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi_document()


async def test_the_fuzzed_graphql_schema_is_the_served_one(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": get_introspection_query()})
    assert response.status_code == 200
    served, fuzzed = (
        print_schema(lexicographic_sort_schema(build_client_schema(introspection)))
        for introspection in (response.json()["data"], graphql_introspection())
    )
    assert served == fuzzed
