"""npm packages for the client tests, installed once into a cache outside the repository.

The packages are pinned by a package-lock.json beside the test; the cache folder is named
by that lock's hash, so a changed lock installs afresh and an unchanged one costs nothing.
`CI` set means a missing Node.js is a failure, not a skip: CI must run these clients.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tandem-clients"
INSTALL_SECONDS = 300


def missing(what: str) -> None:
    """Skip with the reason; in CI (`CI` set) fail instead, since CI installs it."""
    message = f"{what}; `bash .ci/install-clients` installs it (as root)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str) -> str:
    """The full path of `node` or `npm`, or a skip (a failure in CI) when it is absent."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} (Node.js) is not installed")
    return str(path)


def node_modules(project: Path) -> Path:
    """`npm ci` the project (package.json + package-lock.json) into the cache, once."""
    npm = tool("npm")
    lock = (project / "package-lock.json").read_bytes()
    target = CACHE / f"{project.name}-{hashlib.sha256(lock).hexdigest()[:16]}"
    modules = target / "node_modules"
    if (target / ".installed").exists():
        return modules
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(project / name, target / name)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        missing(f"npm ci failed in {target}: {result.stderr.strip()[-500:]}")
    (target / ".installed").touch()
    return modules
