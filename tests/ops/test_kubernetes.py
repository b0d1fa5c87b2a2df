"""deploy/kubernetes: valid Kubernetes objects that run Tandem as docs/deploy.md says.

Validated with kubernetes-validate (the Kubernetes OpenAPI schemas it ships, strict: a
misspelt field is an error), against the oldest release we support and the newest it knows;
then what the schema cannot see: probes, grace periods, selectors, settings that load.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes
from pydantic import ValidationError

from tandem.config import Settings
from tandem.observability.metrics import HTTP_REQUESTS_IN_FLIGHT

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
OLDEST_SUPPORTED = "1.30.0"  # sleep-less preStop (exec), autoscaling/v2, policy/v1


def manifests() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.yaml") if path.name != "kustomization.yaml")


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return document


def container(workload: dict[str, Any]) -> dict[str, Any]:
    """The one container of a Deployment's or a Job's pods."""
    [only] = workload["spec"]["template"]["spec"]["containers"]
    return only  # type: ignore[no-any-return]


def env_sources(pod_container: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for source in pod_container.get("envFrom", []):
        for kind in ("configMapRef", "secretRef"):
            if kind in source:
                found.add((kind, source[kind]["name"]))
    for variable in pod_container.get("env", []):
        for kind in ("configMapKeyRef", "secretKeyRef"):
            if kind in variable.get("valueFrom", {}):
                found.add((kind, variable["valueFrom"][kind]["name"]))
    return found


@pytest.mark.parametrize("version", [OLDEST_SUPPORTED, kubernetes.latest_version()])
@pytest.mark.parametrize("path", manifests(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_manifest_is_a_valid_kubernetes_object(path: Path, version: str) -> None:
    for resource in kubernetes.resources_from_file(str(path)):
        kubernetes.validate(resource, version, strict=True)


def test_a_misspelt_field_fails_validation() -> None:
    deployment = load("api-deployment.yaml")
    container(deployment)["readinessProb"] = container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes.ValidationError, match="readinessProb"):
        kubernetes.validate(deployment, kubernetes.latest_version(), strict=True)


def test_the_kustomization_lists_every_manifest_and_only_those() -> None:
    listed = set(load("kustomization.yaml")["resources"])
    assert listed == {path.name for path in ROOT.glob("*.yaml")} - {"kustomization.yaml"}
    component = yaml.safe_load((ROOT / "components/in-flight/kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    assert [patch["path"] for patch in component["patches"]] == ["api-hpa.yaml"]


def test_the_api_serves_without_the_worker_behind_its_probes_and_drains_in_full() -> None:
    deployment = load("api-deployment.yaml")
    api = container(deployment)
    assert api["command"][:2] == ["tandem", "serve"] and "--no-worker" in api["command"]
    port = api["ports"][0]
    assert api["command"][api["command"].index("--port") + 1] == str(port["containerPort"])
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["livenessProbe"]["httpGet"]["port"] == port["name"]

    sleep = api["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep" and int(sleep[1]) >= 3
    grace = int(load("configmap.yaml")["data"]["SHUTDOWN_GRACE_SECONDS"])
    # Kubernetes counts the grace period from the start of preStop.
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > (
        int(sleep[1]) + grace
    )
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_worker_outlasts_a_job_in_flight() -> None:
    deployment = load("worker-deployment.yaml")
    worker = container(deployment)
    assert worker["command"][:2] == ["tandem", "worker"]
    defaults = Settings()
    longest_job = max(defaults.webhook_timeout_seconds, defaults.smtp_timeout_seconds) + 1
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > longest_job
    port = worker["command"][worker["command"].index("--metrics-port") + 1]
    assert worker["ports"][0]["containerPort"] == int(port)
    assert worker["livenessProbe"]["httpGet"]["port"] == worker["ports"][0]["name"]
    # A probe sends no secret: it asks the path served without METRICS_TOKEN.
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_migrations_run_once_as_a_job() -> None:
    job = load("migrate-job.yaml")
    pod = job["spec"]["template"]["spec"]
    migrate = container(job)
    assert migrate["command"] == ["tandem", "migrate"]
    assert pod["restartPolicy"] == "Never"
    assert migrate["image"] == container(load("api-deployment.yaml"))["image"]


def test_settings_come_from_the_config_map_and_the_secret_and_load() -> None:
    config_map, secret = load("configmap.yaml"), load("secret.yaml")
    for name in ("api-deployment.yaml", "worker-deployment.yaml", "migrate-job.yaml"):
        sources = env_sources(container(load(name)))
        assert ("configMapRef", config_map["metadata"]["name"]) in sources, name
        assert {
            ("secretRef", secret["metadata"]["name"]),
            ("secretKeyRef", secret["metadata"]["name"]),
        } & sources, name
    fields = {name.upper() for name in Settings.model_fields}
    assert set(config_map["data"]) <= fields
    # MIGRATE_DATABASE_URL is the Job's DATABASE_URL (the primary, not the pooler).
    assert set(secret["stringData"]) - {"MIGRATE_DATABASE_URL"} <= fields
    environment = {**config_map["data"], **secret["stringData"]}

    def load_settings(values: dict[str, str]) -> Settings:
        return Settings(
            **{key.lower(): value for key, value in values.items() if key.lower() in fields_lower}
        )

    fields_lower = set(Settings.model_fields)
    # As shipped, the placeholders are refused: production will not start on them.
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        load_settings(environment)
    replaced = {
        key: value.replace("CHANGE-ME-to-32-or-more-random-characters", secrets.token_urlsafe(48))
        for key, value in environment.items()
    }
    settings = load_settings(replaced)
    assert settings.tandem_env == "production" and settings.database_url is not None


def test_the_service_budget_and_autoscaler_point_at_the_api_pods() -> None:
    deployment = load("api-deployment.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = load("api-service.yaml")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == container(deployment)["ports"][0]["name"]
    assert load("api-pdb.yaml")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    worker_labels = load("worker-deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert load("worker-pdb.yaml")["spec"]["selector"]["matchLabels"].items() <= (
        worker_labels.items()
    )
    for hpa in (load("api-hpa.yaml"), load("components/in-flight/api-hpa.yaml")):
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert hpa["spec"]["minReplicas"] >= 2  # the budget leaves one pod during a drain
        metrics = {metric["type"]: metric for metric in hpa["spec"]["metrics"]}
        assert metrics["Resource"]["resource"]["name"] == "cpu"
    in_flight = load("components/in-flight/api-hpa.yaml")["spec"]["metrics"][1]
    assert in_flight["pods"]["metric"]["name"] == HTTP_REQUESTS_IN_FLIGHT._name
