"""The interpreter the bench's servers run on: this virtualenv's, or another one (`--python`).

CPython's speed depends on how it was built. The image Tandem ships in (the Dockerfile's
`python:3.11-slim`) is built with profile-guided and link-time optimisation, as
Debian's own `python3.11` is; pyenv builds without them unless told, and links the
interpreter to a shared libpython. On one machine of the bench's kind, the same code
and packages on Debian's python3.11 took 9 to 21% less CPU per GraphQL item request
than on pyenv's 3.11.7, in process (`bench.asgi_cost`, three alternating pairs); served
over HTTP, three alternations gave medians from 20% less to none (docs/performance.md).

`make bench BENCH_PYTHON=/usr/bin/python3.11` runs Tandem and the floor on such an
interpreter, in a virtualenv under the bench's cache that holds this virtualenv's
packages at the same versions, so that only the interpreter differs; the report names
the interpreter either way. The seed, the load generator and PostGraphile are not
affected.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable

from bench.peer import CACHE
from bench.seed import ROOT


def servers_python(wanted: str | None, log: Callable[[str], None] = print) -> str:
    """The interpreter to start the servers with: this one, or a virtualenv made for `wanted`."""
    if wanted is None:
        return sys.executable
    found = subprocess.run(  # noqa: S603 - the interpreter the user named
        [wanted, "-c", "import sys; print(sys.version_info >= (3, 11), sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0 or not found.stdout.startswith("True"):
        raise SystemExit(f"bench: --python {wanted} is not a Python 3.11 or newer")
    version = found.stdout.split()[1]
    real = os.path.realpath(wanted)
    home = CACHE / f"servers-python-{version}-{hashlib.sha256(real.encode()).hexdigest()[:8]}"
    python = home / "bin" / "python"
    packages = _packages()
    recorded = home / "packages.txt"
    if python.exists() and recorded.exists() and recorded.read_text() == packages:
        return str(python)
    log(f"bench: a virtualenv for {real} ({version}) with .venv's packages, in {home}")
    home.parent.mkdir(parents=True, exist_ok=True)
    requirements = home.parent / f"{home.name}.requirements.txt"
    requirements.write_text(packages)
    for step in (
        [real, "-m", "venv", "--clear", str(home)],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
        # Tandem's own metadata (its version), its code still read from the tree or the ref.
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)],
    ):
        subprocess.run(step, check=True, timeout=900)  # noqa: S603
    recorded.write_text(packages)
    return str(python)


def describe(python: str) -> str:
    """How the report names an interpreter: its version and where it is."""
    return subprocess.run(  # noqa: S603
        [
            python,
            "-c",
            "import platform, sys; print(f'{platform.python_version()} ({sys.base_prefix})')",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _packages() -> str:
    """This virtualenv's packages at their versions, Tandem's own editable install left out."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in frozen.splitlines() if line and not line.startswith(("-e", "#"))]
    return "\n".join(sorted(lines)) + "\n"
