"""A real `tandem serve` process on a free port, against the suite's database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

TANDEM = str(Path(sys.executable).with_name("tandem"))
SECRET = "ops-Vq3x9LmR2kTzY8pWc4nHs7dJf1bGa6e"  # random: production refuses a guessable key


def production_settings() -> dict[str, str]:
    """What production needs besides a good key (it refuses to start without them):
    metrics behind a token, https links, mail over SMTP (here to a port nobody answers)."""
    return {
        "METRICS_TOKEN": "ops-metrics-token-0123456789",
        "PUBLIC_URL": "https://tandem.example.test",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(free_port()),
        "SMTP_TLS": "none",
        "MAIL_FROM": "Tandem <no-reply@tandem.example.test>",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit status once the process has drained and gone."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve(database_url: str, directory: Path, *, workers: int = 1, **settings: str) -> Served:
    """Start `tandem serve` and wait until it answers /healthz (every worker, for several)."""
    port = free_port()
    log_path = directory / f"serve-{port}.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TANDEM", "PROMETHEUS"))},
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "DATA_DIR": str(directory / "data"),
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        **(production_settings() if settings.get("TANDEM_ENV") == "production" else {}),
        **settings,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [TANDEM, "serve", "--port", str(port), "--workers", str(workers)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
        )
    served = Served(process, port, log_path)
    deadline = time.monotonic() + 90
    ready = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tandem serve exited {process.returncode}:\n{served.log()}")
        ready = served.log().count("Application startup complete")
        if ready >= workers:
            try:
                if httpx.get(served.url + "/healthz", timeout=2).status_code == 200:
                    return served
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"tandem serve did not start:\n{served.log()}")
