"""A real `tandem serve` process on a free loopback port, for the clients nobody here wrote."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

TANDEM = Path(sys.executable).parent / "tandem"
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
START_SECONDS = 120  # a loaded 2-core CI machine has needed more than 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_tandem(
    *, database_url: str, cwd: Path, port: int | None = None, **settings: str
) -> Iterator[str]:
    """Serve Tandem on the given database; yield its base URL; SIGTERM it afterwards."""
    port = port or free_port()
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "served-test-secret-key-that-is-long-enough-0123",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        **settings,
    }
    log = (cwd / "serve.log").open("wb")
    process = subprocess.Popen(  # our own console script, fixed arguments
        [str(TANDEM), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,  # away from the repository, so no `.env` is read
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base_url, process, cwd / "serve.log")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tandem serve exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(base_url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"tandem serve was not ready in {START_SECONDS} s")
