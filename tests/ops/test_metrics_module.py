"""The metric definitions: each one is exposed under its Prometheus name, with its labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tandem.observability import metrics


def families() -> dict[str, object]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def test_every_metric_is_exposed_with_its_conventional_name() -> None:
    metrics.LOGIN_THROTTLE_REFUSALS.labels(scope="account").inc()
    exposed = families()
    for name in (
        "tandem_http_request_duration_seconds",
        "tandem_http_requests_in_flight",
        "tandem_graphql_request_duration_seconds",
        "tandem_rate_limit_refusals",
        "tandem_login_throttle_refusals",
        "tandem_db_statements_per_request",
        "tandem_db_pool_connections",
        "tandem_db_pool_connections_in_use",
        "tandem_db_pool_max_connections",
    ):
        assert name in exposed, name
    samples = {s.name: s for s in exposed["tandem_login_throttle_refusals"].samples}  # type: ignore[attr-defined]
    assert samples["tandem_login_throttle_refusals_total"].labels == {"scope": "account"}
    assert samples["tandem_login_throttle_refusals_total"].value >= 1
