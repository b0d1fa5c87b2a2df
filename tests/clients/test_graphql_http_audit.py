"""GraphQL over HTTP as its reference audit suite (npm `graphql-http`) judges a served Tandem."""

from __future__ import annotations

from tests.clients.graphql_http_audit import audit, summary


def test_every_graphql_http_audit_passes(served):
    results = audit(served + "/graphql")
    failures = [r for r in results if r["status"] != "ok"]
    assert len(results) >= 61, summary(results)
    assert not failures, f"{summary(results)}:\n" + "\n".join(map(str, failures))
