"""`.ci/breaking_changes.py`: a breaking change fails CI until CHANGELOG.md lists it.

Run as CI runs it, on a real git repository holding Tandem's own schema files.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "breaking_changes.py"
CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n### Added\n- Things.\n\n## [0.1.0] - 2026-01-01\n"
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("breaking_changes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


breaking_changes = _module()


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com", *args],  # noqa: S607
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose last commit holds Tandem's committed schema files."""
    shutil.copy(ROOT / "openapi.json", tmp_path / "openapi.json")
    shutil.copy(ROOT / "schema.graphql", tmp_path / "schema.graphql")
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "release")
    return tmp_path


def edit_openapi(repo: Path, change: Any) -> None:
    document = json.loads((repo / "openapi.json").read_text())
    change(document)
    (repo / "openapi.json").write_text(json.dumps(document, indent=2))


def list_under_unreleased(repo: Path, *lines: str) -> None:
    entries = "".join(f"- `{line}`\n" for line in lines)
    text = CHANGELOG.replace("### Added\n", f"### Changed\n{entries}\n### Added\n")
    (repo / "CHANGELOG.md").write_text(text)


def test_a_real_breaking_change_fails_until_the_changelog_lists_it(repo):
    schema = (repo / "schema.graphql").read_text()
    (repo / "schema.graphql").write_text(schema.replace("  version: Int!\n", "", 1))

    def rename(document: dict[str, Any]) -> None:
        document["paths"]["/api/v1/items"]["get"]["operationId"] = "listAllItems"

    edit_openapi(repo, rename)
    old_id = json.loads(git(repo, "show", "HEAD:openapi.json"))["paths"]["/api/v1/items"]["get"][
        "operationId"
    ]
    refused = check(repo, "--base", "HEAD")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    removed = "GraphQL: Field Item.version was removed."
    renamed = f"GET /api/v1/items: operationId {old_id} renamed to listAllItems"
    assert f"MISSING  {removed}" in refused.stdout
    assert f"MISSING  {renamed}" in refused.stdout
    assert "CHANGELOG.md" in refused.stderr

    list_under_unreleased(repo, removed)  # one of the two is not enough
    assert check(repo, "--base", "HEAD").returncode == 1
    list_under_unreleased(repo, removed, renamed)
    passed = check(repo, "--base", "HEAD")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "2 breaking change(s)" in passed.stdout


def test_a_change_listed_under_a_released_version_does_not_count(repo):
    def drop(document: dict[str, Any]) -> None:
        del document["paths"]["/api/v1/events"]

    edit_openapi(repo, drop)
    released = CHANGELOG + "### Removed\n- `/api/v1/events: path removed`\n"
    (repo / "CHANGELOG.md").write_text(released)
    assert check(repo, "--base", "HEAD").returncode == 1


def test_an_additive_change_passes(repo):
    schema = (repo / "schema.graphql").read_text()
    (repo / "schema.graphql").write_text(
        schema.replace(
            "type Item implements Node {\n", "type Item implements Node {\n  rank: Int\n", 1
        )
    )

    def add(document: dict[str, Any]) -> None:
        document["paths"]["/api/v1/ping"] = {
            "get": {"operationId": "ping", "responses": {"204": {"description": "pong"}}}
        }
        items = document["paths"]["/api/v1/items"]["get"]
        items["parameters"].append(
            {"in": "query", "name": "colour", "required": False, "schema": {"type": "string"}}
        )

    edit_openapi(repo, add)
    result = check(repo, "--base", "HEAD")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 breaking change(s)" in result.stdout


def test_the_default_base_is_the_release_named_in_api_baseline(repo):
    release = git(repo, "rev-parse", "HEAD")
    (repo / ".ci").mkdir()
    (repo / ".ci" / "api-baseline").write_text(release + "\n")
    (repo / "schema.graphql").write_text(
        (repo / "schema.graphql").read_text().replace("  version: Int!\n", "", 1)
    )
    git(repo, "commit", "-q", "-am", "drop version")
    (repo / "README").write_text("later work\n")
    git(repo, "add", "README")
    git(repo, "commit", "-q", "-m", "an unrelated commit on top")
    # HEAD~1 would see nothing; the release does.
    assert check(repo, "--base", "HEAD~1").returncode == 0
    result = check(repo)
    assert result.returncode == 1 and "Item.version was removed" in result.stdout


def test_an_unreadable_base_says_why(repo):
    result = check(repo, "--base", "0000000000000000000000000000000000000000")
    assert result.returncode == 2
    assert "cannot read the base" in result.stderr


def test_tandems_own_schema_files_pass_against_their_release():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


# --- The OpenAPI diff, case by case ------------------------------------------------------------

BASE: dict[str, Any] = {
    "paths": {
        "/things": {
            "post": {
                "operationId": "createThing",
                "parameters": [
                    {"in": "header", "name": "If-Match", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}
                },
                "responses": {
                    "201": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Out"}}
                        }
                    },
                    "422": {"content": {"application/problem+json": {"schema": {}}}},
                },
            }
        }
    },
    "components": {
        "schemas": {
            "In": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "colour": {
                        "anyOf": [{"enum": ["red", "blue"], "type": "string"}, {"type": "null"}]
                    },
                },
                "required": ["name"],
            },
            "Out": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                "required": ["id", "name"],
            },
        }
    },
}


def changed(edit: Any) -> list[str]:
    new = copy.deepcopy(BASE)
    edit(new)
    result: list[str] = breaking_changes.openapi_breaking(BASE, new)
    return result


def schemas(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: schemas(d)["In"]["required"].append("colour"),
            "POST /things: request body: field colour became required",
        ),
        (
            lambda d: (
                schemas(d)["In"]["properties"].update(size={"type": "integer"})
                or schemas(d)["In"]["required"].append("size")
            ),
            "POST /things: request body: field size is new and required",
        ),
        (
            lambda d: schemas(d)["In"]["properties"].pop("colour"),
            "POST /things: request body: field colour removed",
        ),
        (
            lambda d: schemas(d)["In"]["properties"]["colour"]["anyOf"][0].update(enum=["red"]),
            "POST /things: request body field colour: enum values removed: blue",
        ),
        (
            lambda d: schemas(d)["In"]["properties"].update(name={"type": "integer"}),
            "POST /things: request body field name: type string narrowed to integer",
        ),
        (
            lambda d: schemas(d)["Out"]["properties"].pop("name"),
            "POST /things: response 201: field name removed",
        ),
        (
            lambda d: schemas(d)["Out"]["required"].remove("name"),
            "POST /things: response 201: field name may be absent",
        ),
        (
            lambda d: schemas(d)["Out"]["properties"].update(
                name={"anyOf": [{"type": "string"}, {"type": "null"}]}
            ),
            "POST /things: response 201 field name: type string widened to null|string",
        ),
        (
            lambda d: d["paths"]["/things"]["post"]["parameters"].clear(),
            "POST /things: parameter header if-match removed",
        ),
        (
            lambda d: d["paths"]["/things"]["post"]["parameters"][0].update(required=True),
            "POST /things: parameter header if-match became required",
        ),
        (
            lambda d: d["paths"]["/things"]["post"]["responses"].pop("201"),
            "POST /things: response 201 removed",
        ),
        (lambda d: d["paths"]["/things"].pop("post"), "POST /things: operation removed"),
    ],
)
def test_each_kind_of_breaking_change_is_found(edit, expected):
    assert changed(edit) == [expected]


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: schemas(d)["In"]["properties"].update(size={"type": "integer"}),
        lambda d: schemas(d)["In"]["properties"]["colour"]["anyOf"][0]["enum"].append("green"),
        lambda d: schemas(d)["Out"]["properties"].update(size={"type": "integer"}),
        lambda d: schemas(d)["In"]["required"].remove("name"),
        lambda d: d["paths"]["/things"]["post"]["parameters"][0].update(
            name="if-match", schema={"anyOf": [{"type": "string"}, {"type": "null"}]}
        ),
        # An error answer's schema: the contract's problem+json, corrected, not changed.
        lambda d: d["paths"]["/things"]["post"]["responses"]["422"].update(
            content={"application/problem+json": {"schema": {"type": "object"}}}
        ),
    ],
)
def test_additive_changes_and_corrections_are_not_breaking(edit):
    assert changed(edit) == []


def _newest(repo: Path) -> Path:
    """A copy of the committed newest version's document, as the repository's own."""
    (repo / "openapi").mkdir(exist_ok=True)
    newest = repo / "openapi" / "2026-12-07.json"
    shutil.copy(ROOT / "openapi" / "2026-12-07.json", newest)
    return newest


def test_a_change_behind_a_new_version_is_not_breaking(repo):
    """The base serves one version (openapi.json); the tree adds a later one whose items
    call `version` `revision`: a rename no client pinned to the older version sees."""
    newest = _newest(repo)
    renamed = json.loads(newest.read_text())["components"]["schemas"]["ItemOut"]
    assert "revision" in renamed["properties"] and "version" not in renamed["properties"]
    passed = check(repo, "--base", "HEAD")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "revision" not in passed.stdout
    # The same rename made to the served older version is breaking.
    edit_openapi(repo, lambda d: d["components"]["schemas"]["ItemOut"]["properties"].pop("version"))
    refused = check(repo, "--base", "HEAD")
    assert refused.returncode == 1
    assert "field version removed" in refused.stdout


def test_each_version_is_compared_with_the_bases_same_version(repo):
    newest = _newest(repo)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "release with two versions")
    document = json.loads(newest.read_text())
    document["components"]["schemas"]["ItemOut"]["properties"].pop("revision")
    newest.write_text(json.dumps(document, indent=2))
    refused = check(repo, "--base", "HEAD")
    assert refused.returncode == 1, refused.stdout
    assert "MISSING  [2026-12-07] " in refused.stdout and "field revision removed" in refused.stdout
    newest.unlink()  # no longer served at all
    refused = check(repo, "--base", "HEAD")
    assert refused.returncode == 1
    assert "MISSING  API version 2026-12-07 is no longer served" in refused.stdout
