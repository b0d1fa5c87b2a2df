"""`make run` as a newcomer types it: the port and the host can be chosen."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dry_run(*arguments: str) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    result = subprocess.run(  # make's own dry run: prints the commands, runs none
        [make, "--dry-run", "--always-make", "run", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def test_make_run_serves_on_the_default_address():
    assert ".venv/bin/tandem serve --host 127.0.0.1 --port 8000" in dry_run()


def test_make_run_takes_port_and_host():
    served = dry_run("PORT=8123", "HOST=0.0.0.0")
    assert ".venv/bin/tandem serve --host 0.0.0.0 --port 8123" in served


def test_the_first_install_says_what_it_does_and_why_it_takes_time():
    install = dry_run()
    assert "installing Tandem and its tools" in install
    announced = re.search(r"downloads about (\d+) packages", install)
    assert announced, install
    # The count it announces is near the count this very venv holds (pip's own list).
    installed = len(list(importlib.metadata.distributions()))
    assert abs(int(announced[1]) - installed) <= installed // 5, (announced[1], installed)
    # setuptools' editable-install note is filtered out of the install's output.
    assert 'PYTHONWARNINGS="ignore:Editable installation"' in install
    assert re.search(r"is ready \(.* packages, .* s\)", install)
