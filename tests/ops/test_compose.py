"""compose.yaml is a valid Compose file that runs what docs/deploy.md says it runs.

compose_spec.json is the Compose Specification's JSON schema as docker-compose 1.29.2
(Debian 12's package, compose/config/compose_spec.json, Apache-2.0) ships it; `docker-compose
config` accepted the file too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).with_name("compose_spec.json")).read_text())


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def seconds(duration: str) -> int:
    assert duration.endswith("s")
    return int(duration[:-1])


def test_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft201909Validator(SCHEMA)
    errors = [error.message for error in validator.iter_errors(compose())]
    assert errors == []


def test_compose_runs_the_database_redis_a_migration_the_server_and_the_worker() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    migrate, api, worker = services["migrate"], services["api"], services["worker"]
    assert migrate["command"] == ["tandem", "migrate"]
    assert migrate["restart"] == "no"  # a one-shot step
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["command"][:2] == ["tandem", "serve"] and "--workers" in api["command"]
    assert "--no-worker" in api["command"]  # the worker service does the background work
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["command"] == ["tandem", "worker"]
    for service in (api, worker):
        grace = int(service["environment"]["SHUTDOWN_GRACE_SECONDS"])
        assert seconds(service["stop_grace_period"]) > grace  # a drain is never cut short
        assert service["environment"]["REDIS_URL"].startswith("redis://")
    assert "build" in migrate and api["image"] == migrate["image"]


def test_compose_needs_every_production_setting_and_its_values_load() -> None:
    """Production refuses to start without a good key, metrics behind a token, https links
    and SMTP: compose asks for each (`${NAME:?why}`), and what it passes loads."""
    import re

    from tandem.config import Settings

    given = {
        "SECRET_KEY": "Vq3x_9LmR2kTzY8pWc4nHs7dJf1bGa6e",
        "METRICS_TOKEN": "m7Kp2xQ9rT4vWz8c",
        "PUBLIC_URL": "https://tandem.example.com",
        "SMTP_HOST": "smtp.example.com",
        "MAIL_FROM": "Tandem <no-reply@example.com>",
    }
    required = set()
    environment = {}
    for name, value in compose()["services"]["api"]["environment"].items():
        if value is None:  # passed on only when set
            continue
        match = re.fullmatch(r"\$\{(\w+):\?[^}]*\}", str(value))
        if match:
            required.add(match.group(1))
            value = given[match.group(1)]
        environment[name.lower()] = value
    assert required == set(given)
    settings = Settings(**environment)
    assert settings.tandem_env == "production" and settings.metrics_token is not None
