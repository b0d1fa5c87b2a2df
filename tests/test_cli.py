"""The `tandem` command as an operator runs it: the contract snapshot, and bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tandem.http.versions import OLDEST, VERSIONS

ROOT = Path(__file__).resolve().parent.parent
TANDEM = Path(sys.executable).parent / "tandem"
# What a bare shell passes on (and where Python finds this code); no Tandem setting is passed.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "PYTHONPATH")


def run_tandem(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return subprocess.run(  # our own console script, fixed arguments
        [str(TANDEM), *args],
        cwd=cwd,  # away from the repository, so no `.env` is read
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("version", [str(v) for v in VERSIONS])
def test_the_committed_openapi_json_is_what_the_code_exports(tmp_path, version):
    """openapi.json is the oldest version's document; openapi/<v>.json each later one's."""
    result = run_tandem("export-openapi", "--version", version, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    name = "openapi.json" if version == str(OLDEST) else f"openapi/{version}.json"
    committed = (ROOT / name).read_text()
    if result.stdout != committed:
        exported, snapshot = json.loads(result.stdout), json.loads(committed)
        changed = sorted(set(exported["paths"]) ^ set(snapshot["paths"]))
        pytest.fail(
            f"{name} is stale: the REST contract changed. Run `make schema` and commit "
            f"{name} (paths added or removed: {changed or 'none; a shape changed'})."
        )


def test_the_committed_documents_are_every_version_served():
    assert sorted(p.name for p in (ROOT / "openapi").glob("*.json")) == [
        f"{v}.json" for v in VERSIONS[1:]
    ]


def test_export_openapi_refuses_an_unknown_version(tmp_path):
    result = run_tandem("export-openapi", "--version", "2001-01-01", cwd=tmp_path)
    assert result.returncode != 0
    assert "supported versions: " + ", ".join(VERSIONS) in result.stderr


@pytest.mark.parametrize(
    ("command", "environment", "named"),
    [
        ("migrate", {"TANDEM_ENV": "production"}, "SECRET_KEY"),
        ("migrate", {"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ("migrate", {"TANDEM_ENV": "staging"}, "TANDEM_ENV"),
        ("migrate", {"ACCESS_TOKEN_TTL_SECONDS": "soon"}, "ACCESS_TOKEN_TTL_SECONDS"),
        ("serve", {"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ("worker", {"SMTP_HOST": "smtp.example.com"}, "MAIL_FROM"),
        ("worker", {"SMTP_TLS": "ssl"}, "SMTP_TLS"),
        ("worker", {"PUBLIC_URL": "tandem.example.com"}, "PUBLIC_URL"),
        ("worker", {"MAIL_FROM": "nobody"}, "MAIL_FROM"),
        ("worker", {"PASSWORD_RESET_TTL_SECONDS": "86400"}, "PASSWORD_RESET_TTL_SECONDS"),
        (
            "worker",
            {"SMTP_HOST": "smtp.example.com", "MAIL_FROM": "a@example.com", "SMTP_USER": "me"},
            "SMTP_PASSWORD",
        ),
    ],
    ids=[
        "production-without-secret",
        "mysql-url",
        "unknown-env",
        "ttl-not-a-number",
        "serve",
        "smtp-without-sender",
        "unknown-tls-mode",
        "public-url-without-scheme",
        "sender-without-address",
        "reset-ttl-over-an-hour",
        "smtp-user-without-password",
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path, command, environment, named):
    result = run_tandem(command, cwd=tmp_path, **environment)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


# Production settings that protect what production exposes (issue 20, finding 3 and 10).
PRODUCTION = {
    "TANDEM_ENV": "production",
    "SECRET_KEY": "Vq3x_9LmR2kTzY8pWc4nHs7dJf1bGa6e",  # 32 random characters
    "METRICS_TOKEN": "m7Kp2xQ9rT4vWz8c",
    "PUBLIC_URL": "https://tandem.example.com",
    "SMTP_HOST": "smtp.example.com",
    "MAIL_FROM": "Tandem <no-reply@example.com>",
}


def test_production_starts_with_settings_that_protect_it(tmp_path, database_url):
    result = run_tandem("migrate", cwd=tmp_path, DATABASE_URL=database_url, **PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("changes", "named", "says"),
    [
        ({"SECRET_KEY": "a" * 48}, "SECRET_KEY", "distinct characters"),
        ({"SECRET_KEY": "changeme-changeme-changeme-changeme"}, "SECRET_KEY", "distinct"),
        ({"SECRET_KEY": "k9Xq2Lp7Rz4W" * 4}, "SECRET_KEY", "repeats a pattern"),
        ({"SECRET_KEY": "CHANGE-ME-to-32-or-more-random-characters"}, "SECRET_KEY", "placeholder"),
        ({"SECRET_KEY": "your-super-secret-key-goes-right-here"}, "SECRET_KEY", "placeholder"),
        ({"SECRET_KEY": "abcdefghijklmnopqrstuvwxyz0123456789"}, "SECRET_KEY", "runs"),
        (
            {"SECRET_KEYS": "Vq3x_9LmR2kTzY8pWc4nHs7dJf1bGa6e," + "b" * 40},
            "SECRET_KEYS",
            "distinct",
        ),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS", "'*'"),
        ({"CORS_ORIGINS": "https://app.example.com,null"}, "CORS_ORIGINS", "'null'"),
        ({"PUBLIC_URL": "http://tandem.example.com"}, "PUBLIC_URL", "https://"),
        ({"METRICS_TOKEN": ""}, "METRICS_TOKEN", "required"),
        ({"SMTP_HOST": ""}, "SMTP_HOST", "never written to files"),
    ],
    ids=[
        "key-of-one-letter",
        "key-changeme",
        "key-repeated",
        "key-placeholder",
        "key-secret-placeholder",
        "key-alphabet",
        "one-of-the-keys",
        "cors-star",
        "cors-null",
        "http-public-url",
        "no-metrics-token",
        "no-smtp-host",
    ],
)
def test_production_refuses_what_would_expose_it_in_one_line(tmp_path, changes, named, says):
    settings = {**PRODUCTION, **changes}
    settings = {name: value for name, value in settings.items() if value != ""}
    result = run_tandem("migrate", cwd=tmp_path, **settings)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert named in line and says in line, line
    assert "Traceback" not in result.stderr
    if named.startswith("SECRET_KEY"):
        assert "secrets.token_urlsafe(48)" in line  # what a good key is, and how to make one


def test_development_accepts_what_production_refuses(tmp_path):
    result = run_tandem(
        "export-schema", cwd=tmp_path, SECRET_KEY="a" * 48, CORS_ORIGINS="*", PUBLIC_URL="http://x"
    )
    assert result.returncode == 0, result.stderr
