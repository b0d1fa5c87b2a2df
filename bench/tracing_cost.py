"""What traces cost: Tandem's CPU per request with tracing off and on, in one short run.

    .venv/bin/python -m bench.tracing_cost [--requests 1000] [--rounds 3]

Each round starts one child process per mode, alternating (off, on, off, on, ...) so both
see the same machine; a child calls the ASGI app directly (no HTTP, no load generator) on a
scratch database of the embedded server, warms up, then times `--requests` reads
(`GET /api/v1/items/{id}`) and as many writes (`POST /api/v1/items`, which also stamps the
trace on the outbox rows) and prints the process CPU per request. "on" exports every span
(the default sampler: always on) over OTLP/HTTP to a receiver in this process, which
decodes nothing and answers 200: the SDK's and the instrumentations' cost, not a
collector's; "1%" samples one trace in a hundred (parentbased_traceidratio 0.01). Bounded: about a minute on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "tracing_cost"
SECRET = "tc-Q7vN2xLp9RmK4sWd8YbF3hJ6tZc1GqE5uA0oVnXiTy"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _call(app: Any, method: str, path: str, token: str, body: bytes = b"") -> bytes:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    chunks: list[bytes] = []
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    assert status in (200, 201), (status, b"".join(chunks)[:200])
    return b"".join(chunks)


async def child(requests: int) -> dict[str, float]:
    import httpx

    from tandem.app import create_app
    from tandem.config import Settings
    from tandem.persistence import embedded

    url = embedded.start(ROOT / ".tandem").url(DATABASE)
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        tandem_env="development",  # production needs SMTP, https and a metrics token
        rate_limit="off",
        log_level="warning",
        serve_worker=False,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        webhook_allow_private_urls=True,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
        email = f"bench{os.getpid()}@example.com"
        await client.post(
            "/api/v1/auth/register",
            json={"email": email, "name": "Bench", "password": "a bench pass phrase"},
        )
        grant = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": "a bench pass phrase"},
        )
        assert grant.status_code == 200, grant.text
        token = grant.json()["access_token"]
        item = json.loads(await _call(app, "POST", "/api/v1/items", token, b'{"title": "x"}'))
        path = f"/api/v1/items/{item['id']}"
        for _ in range(200):  # warm: compiled statements, prepared statements, caches
            await _call(app, "GET", path, token)
            await _call(app, "POST", "/api/v1/items", token, b'{"title": "warm"}')
        began = _cpu()
        for _ in range(requests):
            await _call(app, "GET", path, token)
        read = (_cpu() - began) / requests
        began = _cpu()
        for _ in range(requests):
            await _call(app, "POST", "/api/v1/items", token, b'{"title": "w"}')
        write = (_cpu() - began) / requests
    return {"read_us": read * 1e6, "write_us": write * 1e6}


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.requests))))
        return

    from tandem.persistence import embedded
    from tandem.persistence.migrate import upgrade

    server = embedded.start(ROOT / ".tandem")
    upgrade(server.ensure_database(DATABASE, fresh=True))
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    modes = {
        "off": base,
        "on": {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint},
        "1%": {
            **base,
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.01",
        },
    }
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    try:
        for _ in range(args.rounds):
            for mode, environment in modes.items():
                done = subprocess.run(
                    [sys.executable, "-m", "bench.tracing_cost", "--child",
                     "--requests", str(args.requests)],
                    env=environment, cwd=ROOT, capture_output=True, text=True, check=True,
                )
                results[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        sink.shutdown()
        server.drop_database(DATABASE)
    for kind in ("read_us", "write_us"):
        off = statistics.median(r[kind] for r in results["off"])
        line = f"{kind[:-3]:5}: off {off:6.0f} µs CPU/request"
        for mode in ("on", "1%"):
            cost = statistics.median(r[kind] for r in results[mode])
            line += f", {mode} {cost:6.0f} µs ({cost / off:.2f}×)"
        print(line)


if __name__ == "__main__":
    main()
