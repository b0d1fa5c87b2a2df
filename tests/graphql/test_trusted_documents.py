"""Trusted documents: a client names a known operation by its SHA-256; allow-list mode runs only those."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from tandem.config import Settings
from tandem.graphql.trusted import TrustedDocuments
from tests.factories import make_account, make_item
from tests.security.helpers import serving

ITEM = "query Item($id: ID!) { item(id: $id) { title owner { name } } }"
ME = "{ me { name } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str, **body: Any) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}, **body}


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({sha256(ITEM): ITEM, sha256(ME): ME}))
    return path


async def test_a_known_hash_runs_its_document(client, services, settings, manifest):
    ada = await make_account(services, client)
    item = await make_item(client, ada)
    async with serving(settings, services.database, graphql_trusted_documents=manifest) as served:
        body = persisted(sha256(ITEM), variables={"id": item["node_id"]})
        response = await served.client.post("/graphql", json=body, headers=ada.headers)
        by_get = await served.client.get(
            "/graphql",
            params={"extensions": json.dumps(persisted(sha256(ME))["extensions"])},
            # As GraphQL-over-HTTP clients ask; a browser's `*/*` gets GraphiQL in development.
            headers={"Accept": "application/graphql-response+json", **ada.headers},
        )
    assert response.status_code == 200
    assert response.json()["data"]["item"] == {
        "title": item["title"],
        "owner": {"name": ada.user.name},
    }
    assert by_get.json()["data"] == {"me": {"name": ada.user.name}}


async def test_an_unknown_hash_is_persisted_query_not_found(client, services, settings, manifest):
    ada = await make_account(services, client)
    async with serving(settings, services.database, graphql_trusted_documents=manifest) as served:
        response = await served.client.post(
            "/graphql", json=persisted("ab" * 32), headers=ada.headers
        )
        # Apollo's clients then send the text with the hash: outside allow-list mode it runs.
        retried = await served.client.post(
            "/graphql",
            json=persisted(sha256("{ me { id } }"), query="{ me { id } }"),
            headers=ada.headers,
        )
    assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert response.json().get("data") is None
    assert retried.json()["data"]["me"]["id"]


async def test_text_that_does_not_match_its_hash_is_refused(client, services, settings, manifest):
    ada = await make_account(services, client)
    async with serving(settings, services.database, graphql_trusted_documents=manifest) as served:
        response = await served.client.post(
            "/graphql", json=persisted(sha256(ME), query="{ me { id } }"), headers=ada.headers
        )
        malformed = await served.client.post(
            "/graphql",
            json={"extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha256(ME)}}},
            headers=ada.headers,
        )
    assert codes(response.json()) == ["BAD_USER_INPUT"]
    assert codes(malformed.json()) == ["BAD_USER_INPUT"]


async def test_allow_list_mode_runs_only_trusted_documents(client, services, settings, manifest):
    ada = await make_account(services, client)
    changes = {"graphql_trusted_documents": manifest, "graphql_trusted_only": True}
    async with serving(settings, services.database, **changes) as served:
        by_hash = await served.client.post(
            "/graphql", json=persisted(sha256(ME)), headers=ada.headers
        )
        as_text = await served.client.post("/graphql", json={"query": ME}, headers=ada.headers)
        other = await served.client.post(
            "/graphql", json={"query": "{ me { id name } }"}, headers=ada.headers
        )
        introspection = await served.client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
    assert by_hash.json()["data"] == {"me": {"name": ada.user.name}}
    assert as_text.json()["data"] == {"me": {"name": ada.user.name}}
    assert codes(other.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    assert other.json().get("data") is None
    assert codes(introspection.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]


async def test_a_trusted_document_still_meets_every_rule(client, services, settings, manifest):
    ada, bob = await make_account(services, client), await make_account(services, client)
    draft = await make_item(client, ada, status="draft")
    changes = {"graphql_trusted_documents": manifest, "graphql_trusted_only": True}
    async with serving(settings, services.database, **changes) as served:
        anonymous = await served.client.post(
            "/graphql", json=persisted(sha256(ITEM), variables={"id": draft["node_id"]})
        )
        hidden = await served.client.post(
            "/graphql",
            json=persisted(sha256(ITEM), variables={"id": draft["node_id"]}),
            headers=bob.headers,
        )
    assert codes(anonymous.json()) == ["UNAUTHENTICATED"]
    assert codes(hidden.json()) == ["NOT_FOUND"]
    assert hidden.headers["x-ratelimit-used"] == "1"


def test_a_manifest_with_a_wrong_hash_or_bad_document_stops_start_up(tmp_path):
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"00" * 32: ME}))
    with pytest.raises(ValueError, match="not the SHA-256"):
        TrustedDocuments.load(wrong)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({sha256("{ me {"): "{ me {"}))
    with pytest.raises(ValueError, match="does not parse"):
        TrustedDocuments.load(broken)


def test_allow_list_mode_without_a_manifest_is_a_configuration_error():
    with pytest.raises(pydantic.ValidationError, match="GRAPHQL_TRUSTED_DOCUMENTS"):
        Settings(graphql_trusted_only=True)
