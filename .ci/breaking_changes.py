"""Fail on a breaking change to `schema.graphql` or `openapi.json` that CHANGELOG.md does not list.

What it compares. The working tree's two files against the same files at a base
revision: by default the commit named in `.ci/api-baseline`, the last release,
which `CHANGELOG.md`'s `Unreleased` section starts from. So every breaking change
since the release must be listed there, however many commits it took to land (a
round of ff-only merges puts several on main at once, and `HEAD~1` would see only
the last), and a change made and then undone is no change. `--base REV` compares
with any other revision instead (`--base HEAD~1`, or `--base origin/main` on a
branch). This needs the base commit in the clone: CI's clean clone has the full
history; a shallow one fails with a message saying to fetch it. On a release, the
`Unreleased` heading becomes the version and `.ci/api-baseline` its commit.

What is breaking.
- GraphQL: graphql-core's `find_breaking_changes` (removed types and fields,
  changed field types, new required arguments, removed enum values, ...), worded
  as graphql-core words them; its "dangerous" changes are printed, not failed.
- OpenAPI, a structural diff of what a client (or a client generated from the
  document) relies on: a removed path or operation; a renamed `operationId` (a
  generated client's function name); a removed parameter, a new or newly required
  one; in a request body, a removed field (bodies refuse unknown fields), a new or
  newly required one, a narrowed type or enum; in a success (2xx) response, a
  removed status or field, a field that may now be absent, a widened type (a field
  that may now be null, say). Error answers are not diffed: every one is the
  contract's problem+json, and documenting it where the document lacked it (or
  wrongly said otherwise) corrects the document, not the server. Nor are length or
  range constraints: the server enforced them before the document said so.

Dated API versions. `openapi.json` is the oldest version still served and
`openapi/<YYYY-MM-DD>.json` each later one (`make schema` writes them). Each document
is compared with the base's document of the same version: the root with the root, and
`openapi/<v>.json` with the base's `openapi/<v>.json` when the base has it. A version
new since the base is not compared with anything: a change made behind a new version
breaks nobody pinned to an older one. A version the base served and the tree no longer
does is breaking (`API version <v> is no longer served`). A change to a later version's
document prints with the version first (`[2026-12-07] GET ...`).

How to list one. Each change prints as one line, such as
`GET /api/v1/items: operationId list_items_api_v1_items_get renamed to listItems`;
the check passes when that text (case, backticks and runs of spaces aside) appears
under the `## [Unreleased]` heading of CHANGELOG.md. Copy the line into an entry.

Exit status: 0 when every breaking change is listed, 1 when one is not, 2 when the
base cannot be read.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = "openapi.json"
VERSIONED = "openapi"  # openapi/<YYYY-MM-DD>.json: each later dated version's document
GRAPHQL = "schema.graphql"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_DEPTH = 12

Schema = Mapping[str, Any]


# --- OpenAPI -----------------------------------------------------------------------------------


class _Document:
    def __init__(self, document: Schema) -> None:
        self.document = document

    def resolve(self, schema: Any) -> Schema:
        seen = 0
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 20:
            target: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        return schema if isinstance(schema, Mapping) else {}

    def types(self, schema: Any) -> set[str] | None:
        """The JSON types a value may have; None when the schema does not say."""
        schema = self.resolve(schema)
        found: set[str] = set()
        branches = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
        for branch in branches:
            inner = self.types(branch)
            if inner is None:
                return None
            found |= inner
        kind = schema.get("type")
        if isinstance(kind, str):
            found.add(kind)
        elif isinstance(kind, list):
            found.update(kind)
        elif "properties" in schema:
            found.add("object")
        if schema.get("nullable"):
            found.add("null")
        if "integer" in found and "number" in found:
            found.discard("integer")
        return found or None

    def enum(self, schema: Any) -> set[str] | None:
        """The values an enum allows (JSON-encoded); None when any value of its type goes."""
        schema = self.resolve(schema)
        if isinstance(schema.get("enum"), list):
            return {json.dumps(value) for value in schema["enum"]}
        branches = [b for b in (*schema.get("anyOf", []), *schema.get("oneOf", [])) if _not_null(b)]
        values = [self.enum(branch) for branch in branches]
        if not branches or any(v is None for v in values):
            return None
        return set().union(*(v for v in values if v is not None))

    def object_parts(self, schema: Any) -> tuple[dict[str, Any], set[str]] | None:
        """The properties and required names of an object schema (its branches merged)."""
        schema = self.resolve(schema)
        properties: dict[str, Any] = {}
        required: set[str] = set()
        found = False
        for branch in (schema, *schema.get("allOf", []), *schema.get("anyOf", [])):
            branch = self.resolve(branch)
            if "properties" in branch:
                found = True
                properties.update(branch["properties"])
                required.update(branch.get("required", []))
        return (properties, required) if found else None

    def items(self, schema: Any) -> Any:
        schema = self.resolve(schema)
        if "items" in schema:
            return schema["items"]
        for branch in (*schema.get("anyOf", []), *schema.get("oneOf", [])):
            branch = self.resolve(branch)
            if "items" in branch:
                return branch["items"]
        return None


def _not_null(schema: Any) -> bool:
    return not (isinstance(schema, Mapping) and schema.get("type") == "null")


def _names(types: Iterable[str]) -> str:
    return "|".join(sorted(types))


def _request(
    old: _Document,
    new: _Document,
    a: Any,
    b: Any,
    where: str,
    depth: int = 0,
    *,
    parameter: bool = False,
) -> list[str]:
    """What a client that sent `a`-shaped data finds refused by `b`.

    A parameter's value is never JSON null: FastAPI's `anyOf [string, null]` for an
    optional header or query parameter says only that it may be left out.
    """
    if depth > MAX_DEPTH:
        return []
    changes = []
    old_types, new_types = old.types(a), new.types(b)
    if parameter and old_types and new_types:
        old_types, new_types = old_types - {"null"}, new_types - {"null"}
    if old_types and new_types and old_types - new_types:
        changes.append(f"{where}: type {_names(old_types)} narrowed to {_names(new_types)}")
    old_enum, new_enum = old.enum(a), new.enum(b)
    if new_enum is not None and old_enum is None:
        allowed = ", ".join(sorted(v.strip('"') for v in new_enum))
        changes.append(f"{where}: now one of: {allowed}")
    elif new_enum is not None and old_enum is not None and old_enum - new_enum:
        removed = ", ".join(sorted(v.strip('"') for v in old_enum - new_enum))
        changes.append(f"{where}: enum values removed: {removed}")
    old_object, new_object = old.object_parts(a), new.object_parts(b)
    if old_object and new_object:
        (old_props, old_required), (new_props, new_required) = old_object, new_object
        for name in sorted(old_props):
            if name not in new_props:
                changes.append(f"{where}: field {name} removed")
        for name in sorted(new_required - old_required):
            label = "became required" if name in old_props else "is new and required"
            changes.append(f"{where}: field {name} {label}")
        for name in sorted(set(old_props) & set(new_props)):
            changes += _request(
                old, new, old_props[name], new_props[name], f"{where} field {name}", depth + 1
            )
    old_items, new_items = old.items(a), new.items(b)
    if old_items is not None and new_items is not None:
        changes += _request(old, new, old_items, new_items, f"{where}[]", depth + 1)
    return changes


def _response(
    old: _Document, new: _Document, a: Any, b: Any, where: str, depth: int = 0
) -> list[str]:
    """What a client that read `a`-shaped answers finds different in `b`."""
    if depth > MAX_DEPTH:
        return []
    changes = []
    old_types, new_types = old.types(a), new.types(b)
    if old_types and new_types and new_types - old_types:
        changes.append(f"{where}: type {_names(old_types)} widened to {_names(new_types)}")
    old_object, new_object = old.object_parts(a), new.object_parts(b)
    if old_object and new_object:
        (old_props, old_required), (new_props, new_required) = old_object, new_object
        for name in sorted(old_props):
            if name not in new_props:
                changes.append(f"{where}: field {name} removed")
        for name in sorted((old_required & set(new_props)) - new_required):
            changes.append(f"{where}: field {name} may be absent")
        for name in sorted(set(old_props) & set(new_props)):
            changes += _response(
                old, new, old_props[name], new_props[name], f"{where} field {name}", depth + 1
            )
    old_items, new_items = old.items(a), new.items(b)
    if old_items is not None and new_items is not None:
        changes += _response(old, new, old_items, new_items, f"{where}[]", depth + 1)
    return changes


def _parameters(document: _Document, operation: Schema, shared: Iterable[Any]) -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for raw in (*shared, *operation.get("parameters", [])):
        parameter = document.resolve(raw)
        place, name = parameter.get("in", ""), str(parameter.get("name", ""))
        found[f"{place} {name.lower() if place == 'header' else name}"] = parameter
    return found


def openapi_breaking(old_document: Schema, new_document: Schema) -> list[str]:
    """Every breaking change from `old_document` to `new_document`, one line each."""
    old, new = _Document(old_document), _Document(new_document)
    changes: list[str] = []
    old_paths, new_paths = old_document.get("paths", {}), new_document.get("paths", {})
    for path, old_item in old_paths.items():
        if path not in new_paths:
            changes.append(f"{path}: path removed")
            continue
        new_item = new_paths[path]
        for method in METHODS:
            if method not in old_item:
                continue
            where = f"{method.upper()} {path}"
            if method not in new_item:
                changes.append(f"{where}: operation removed")
                continue
            changes += _operation(
                old, new, old_item[method], new_item[method], old_item, new_item, where
            )
    return changes


def _operation(
    old: _Document, new: _Document, a: Schema, b: Schema, a_item: Schema, b_item: Schema, where: str
) -> list[str]:
    changes = []
    if a.get("operationId") and a.get("operationId") != b.get("operationId"):
        changes.append(f"{where}: operationId {a['operationId']} renamed to {b.get('operationId')}")
    old_params = _parameters(old, a, a_item.get("parameters", []))
    new_params = _parameters(new, b, b_item.get("parameters", []))
    for key, parameter in old_params.items():
        if key not in new_params:
            changes.append(f"{where}: parameter {key} removed")
            continue
        replacement = new_params[key]
        if replacement.get("required") and not parameter.get("required"):
            changes.append(f"{where}: parameter {key} became required")
        changes += _request(
            old,
            new,
            parameter.get("schema"),
            replacement.get("schema"),
            f"{where}: parameter {key}",
            parameter=True,
        )
    for key, parameter in new_params.items():
        if key not in old_params and parameter.get("required"):
            changes.append(f"{where}: parameter {key} is new and required")
    old_body = old.resolve(a.get("requestBody"))
    new_body = new.resolve(b.get("requestBody"))
    if new_body.get("required") and not old_body.get("required"):
        changes.append(f"{where}: request body became required")
    old_content, new_content = old_body.get("content", {}), new_body.get("content", {})
    for media, old_media in old_content.items():
        if new_content and media not in new_content:
            changes.append(f"{where}: request body no longer accepts {media}")
        elif media in new_content:
            changes += _request(
                old,
                new,
                old_media.get("schema"),
                new_content[media].get("schema"),
                f"{where}: request body",
            )
    old_responses, new_responses = a.get("responses", {}), b.get("responses", {})
    for status, old_response in old_responses.items():
        if not str(status).startswith("2"):
            continue
        if status not in new_responses:
            changes.append(f"{where}: response {status} removed")
            continue
        old_media = old.resolve(old_response).get("content", {})
        new_media = new.resolve(new_responses[status]).get("content", {})
        for media, described in old_media.items():
            if media in new_media:
                changes += _response(
                    old,
                    new,
                    described.get("schema"),
                    new_media[media].get("schema"),
                    f"{where}: response {status}",
                )
    return changes


# --- GraphQL -----------------------------------------------------------------------------------


def graphql_changes(old_sdl: str, new_sdl: str) -> tuple[list[str], list[str]]:
    """graphql-core's breaking and dangerous changes, prefixed `GraphQL: `."""
    from graphql import build_schema, find_breaking_changes, find_dangerous_changes

    old, new = build_schema(old_sdl), build_schema(new_sdl)
    breaking = [f"GraphQL: {change.description}" for change in find_breaking_changes(old, new)]
    dangerous = [f"GraphQL: {change.description}" for change in find_dangerous_changes(old, new)]
    return breaking, dangerous


# --- CHANGELOG ---------------------------------------------------------------------------------


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("`", "").lower()).strip().rstrip(".")


def unreleased(changelog: str) -> str:
    """The text under `## [Unreleased]`, up to the next `## ` heading."""
    match = re.search(
        r"^## \[?Unreleased\]?[^\n]*\n(.*?)(?=^## |\Z)", changelog, re.M | re.S | re.I
    )
    return match.group(1) if match else ""


def unlisted(changes: Iterable[str], changelog: str) -> list[str]:
    section = _normal(unreleased(changelog))
    return [change for change in changes if _normal(change) not in section]


# --- The command -------------------------------------------------------------------------------


def _at(revision: str, name: str, repo: Path) -> str:
    shown = subprocess.run(  # noqa: S603 (our own arguments)
        ["git", "show", f"{revision}:{name}"],  # noqa: S607 (git from PATH, as CI runs it)
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if shown.returncode != 0:
        raise LookupError(shown.stderr.strip() or f"cannot read {name} at {revision}")
    return shown.stdout


def _versions_at(revision: str, repo: Path) -> list[str]:
    """The later versions' documents at `revision`: `openapi/<v>.json` names."""
    listed = subprocess.run(  # noqa: S603 (our own arguments)
        ["git", "ls-tree", "--name-only", f"{revision}:{VERSIONED}"],  # noqa: S607
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:  # no such folder then
        return []
    return sorted(name for name in listed.stdout.split() if name.endswith(".json"))


def versioned_breaking(base: str, repo: Path) -> list[str]:
    """Each later version's document against the base's of the same version."""
    changes = []
    here = repo / VERSIONED
    for name in _versions_at(base, repo):
        version = name.removesuffix(".json")
        if not (here / name).exists():
            changes.append(f"API version {version} is no longer served")
            continue
        old = json.loads(_at(base, f"{VERSIONED}/{name}", repo))
        new = json.loads((here / name).read_text())
        changes += [f"[{version}] {change}" for change in openapi_breaking(old, new)]
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="the revision to compare with (default: .ci/api-baseline)")
    parser.add_argument("--repo", type=Path, default=ROOT)
    arguments = parser.parse_args(argv)
    repo: Path = arguments.repo
    base = arguments.base
    if base is None:
        baseline = repo / ".ci" / "api-baseline"
        base = baseline.read_text().split()[0] if baseline.exists() else "HEAD~1"
    try:
        old_openapi = json.loads(_at(base, OPENAPI, repo))
        old_graphql = _at(base, GRAPHQL, repo)
    except LookupError as error:
        print(
            f"breaking-changes: cannot read the base {base}: {error}\n"
            "  (a shallow clone lacks it: git fetch --unshallow)",
            file=sys.stderr,
        )
        return 2
    new_openapi = json.loads((repo / OPENAPI).read_text())
    new_graphql = (repo / GRAPHQL).read_text()
    breaking, dangerous = graphql_changes(old_graphql, new_graphql)
    breaking += openapi_breaking(old_openapi, new_openapi)
    breaking += versioned_breaking(base, repo)
    changelog_path = repo / "CHANGELOG.md"
    changelog = changelog_path.read_text() if changelog_path.exists() else ""
    missing = unlisted(breaking, changelog)
    print(f"breaking-changes: {len(breaking)} breaking change(s) since {base}")
    for change in breaking:
        print(f"  {'MISSING ' if change in missing else 'listed  '} {change}")
    for change in dangerous:
        print(f"  note     {change} (dangerous, not breaking)")
    if missing:
        print(
            f"breaking-changes: {len(missing)} not listed under '## [Unreleased]' in CHANGELOG.md;"
            " copy each line above marked MISSING into an entry there.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
