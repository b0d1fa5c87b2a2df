"""`tandem worker --metrics-port`: the worker's metrics behind METRICS_TOKEN, as serve's are;
its `/healthz` open to a liveness probe."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ops.served import free_port
from tests.webhooks.test_worker_processes import stop

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "worker-metrics-token-0123456789"


def test_the_workers_metrics_need_the_token(settings, tmp_path: Path) -> None:
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "DATA_DIR": str(tmp_path / "data"),
        "METRICS_TOKEN": TOKEN,
        "LOG_LEVEL": "warning",
    }
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 (the process owns it)
    worker = subprocess.Popen(
        [sys.executable, "-m", "tandem.cli", "worker", "--metrics-port", str(port)],
        env=environment,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                refused = httpx.get(url)
                break
            except httpx.TransportError:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker's metrics port never opened"
                time.sleep(0.2)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert refused.json()["code"] == "UNAUTHENTICATED"
        assert "tandem_" not in refused.text

        assert httpx.get(url.replace("/metrics", "/healthz")).status_code == 200  # probes

        wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401

        scraped = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert "# TYPE tandem_" in scraped.text
    finally:
        stop(worker)
