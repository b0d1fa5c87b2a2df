"""openapi-python-client, in a virtual environment of its own, and the client it generates.

The generator pins many packages (typer, ruamel.yaml, its own ruff), so it lives in a cached
venv under ~/.cache/tandem-tests/ rather than in the project's dev environment; the venv is
named by the pinned version, so a new pin installs afresh and an unchanged one costs
nothing. The generated client runs in that venv too (it has the client's httpx, attrs and
python-dateutil). `CI` set means a failed install is a failure, not a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GENERATOR = "openapi-python-client==0.29.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tandem-tests"
INSTALL_SECONDS = 600
GENERATE_SECONDS = 120


def missing(what: str) -> None:
    """Skip with the reason; in CI (`CI` set) fail instead: CI must run the generated client."""
    message = f"{what}; the test installs {GENERATOR} into {CACHE} with pip when it can"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def generator_venv() -> Path:
    """The venv holding the generator, created (with pip from the machine's index) once."""
    venv = CACHE / GENERATOR.replace("==", "-")
    python = venv / "bin" / "python"
    if (venv / ".installed").exists():
        return venv
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", GENERATOR],
    ]
    for step in steps:
        try:
            result = subprocess.run(  # fixed arguments: the interpreter and a pinned package
                step, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            missing(f"installing {GENERATOR} took over {INSTALL_SECONDS} s")
        if result.returncode != 0:
            missing(f"could not install {GENERATOR}: {result.stderr.strip()[-500:]}")
    (venv / ".installed").touch()
    return venv


def generate(venv: Path, document: Path, into: Path) -> subprocess.CompletedProcess[str]:
    """Generate the client package `tandem_client` from `document` under `into`."""
    bin_dir = venv / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(  # the generator we installed, on a file we wrote
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(into / "tandem_client"),
        ],
        cwd=into,
        env=env,
        capture_output=True,
        text=True,
        timeout=GENERATE_SECONDS,
        check=False,
    )
