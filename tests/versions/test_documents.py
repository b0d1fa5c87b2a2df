"""`/openapi.json` documents each dated version: the newest by default, another by
`?version=` or `Tandem-Version`; the committed files are the same documents."""

from __future__ import annotations

import json
from pathlib import Path

from tandem.http.versions import NEWEST, OLDEST, VERSIONS
from tests.api.assertions import assert_problem

ROOT = Path(__file__).resolve().parents[2]


def item_fields(document: dict) -> list[str]:
    return list(document["components"]["schemas"]["ItemOut"]["properties"])


async def test_the_newest_is_the_default_and_each_version_is_asked_for(client):
    newest = await client.get("/openapi.json")
    assert newest.status_code == 200
    assert newest.headers["tandem-version"] == str(NEWEST)
    assert newest.json()["info"]["x-tandem-version"] == str(NEWEST)
    assert "revision" in item_fields(newest.json()) and "version" not in item_fields(newest.json())
    by_query = await client.get(f"/openapi.json?version={OLDEST}")
    by_header = await client.get("/openapi.json", headers={"Tandem-Version": str(OLDEST)})
    for answer in (by_query, by_header):
        assert answer.status_code == 200
        assert answer.headers["tandem-version"] == str(OLDEST)
        document = answer.json()
        assert document["info"]["x-tandem-version"] == str(OLDEST)
        assert "version" in item_fields(document) and "revision" not in item_fields(document)
    assert by_query.json() == json.loads((ROOT / "openapi.json").read_text())
    for version in VERSIONS[1:]:
        served = (await client.get(f"/openapi.json?version={version}")).json()
        assert served == json.loads((ROOT / "openapi" / f"{version}.json").read_text())
    # Every REST answer documents the header that names its version.
    operation = newest.json()["paths"]["/api/v1/items/{item_id}"]["get"]
    assert "Tandem-Version" in operation["responses"]["200"]["headers"]


async def test_an_unknown_version_of_the_document_is_400(client):
    for answer in (
        await client.get("/openapi.json?version=2026-13-01"),
        await client.get("/openapi.json", headers={"Tandem-Version": "yesterday"}),
    ):
        body = assert_problem(answer, 400, "UNKNOWN_VERSION")
        assert all(str(version) in body["detail"] for version in VERSIONS)
