"""The fallback load generator, for machines without wrk: asyncio, HTTP/1.1 keep-alive.

Closed loop like wrk: each of `connections` connections sends a request, waits
for the whole response, and sends the next, until the time is up. It prints the
same one-line JSON summary as bench/wrk.lua. Being Python, it needs much more
CPU per request than wrk, which it takes from the server on a small machine:
prefer wrk (`apt-get install wrk`).

    python -m bench.loadgen --port 8000 --seconds 5 --target '{"method": ...}' --token T
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field

from bench.targets import Target


@dataclass
class Tally:
    latencies_ns: list[int] = field(default_factory=list)
    bytes: int = 0
    status_errors: int = 0
    read_errors: int = 0
    connect_errors: int = 0


def raw_requests(target: Target, *, host: str, port: int, token: str) -> list[bytes]:
    requests = []
    for value in target.values or ("",):
        body = target.body_for(value) if target.body else b""
        lines = [
            f"{target.method} {target.path_for(value)} HTTP/1.1",
            f"Host: {host}:{port}",
            f"Authorization: Bearer {token}",
        ]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        requests.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return requests


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """(status, bytes) of one response; only Content-Length bodies (both servers send them)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status, len(head) + length


async def _connection(
    requests: list[bytes], host: str, port: int, deadline: float, offset: int, tally: Tally
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        tally.connect_errors += 1
        return
    index = offset
    try:
        while time.monotonic() < deadline:
            request = requests[index % len(requests)]
            index += 1
            started = time.perf_counter_ns()
            writer.write(request)
            status, size = await _read_response(reader)
            tally.latencies_ns.append(time.perf_counter_ns() - started)
            tally.bytes += size
            if status >= 400:
                tally.status_errors += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        tally.read_errors += 1
    finally:
        writer.close()


def _percentile(sorted_values: list[int], share: float) -> int:
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


async def drive(
    target: Target, *, host: str, port: int, token: str, connections: int, seconds: float
) -> dict[str, object]:
    requests = raw_requests(target, host=host, port=port, token=token)
    tally = Tally()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.wait_for(
        asyncio.gather(
            *(_connection(requests, host, port, deadline, n, tally) for n in range(connections))
        ),
        timeout=seconds + 30,
    )
    elapsed = time.monotonic() - started
    latencies = sorted(tally.latencies_ns)
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "bytes": tally.bytes,
        "errors": {
            "connect": tally.connect_errors,
            "read": tally.read_errors,
            "write": 0,
            "status": tally.status_errors,
            "timeout": 0,
        },
        "p50_us": _percentile(latencies, 0.50) // 1000,
        "p99_us": _percentile(latencies, 0.99) // 1000,
        "mean_us": sum(latencies) / len(latencies) / 1000 if latencies else 0.0,
        "max_us": latencies[-1] // 1000 if latencies else 0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--token", required=True)
    parser.add_argument("--target", required=True, help="a Target as JSON")
    args = parser.parse_args(argv)
    spec = json.loads(args.target)
    spec["values"] = tuple(spec.get("values", ()))
    target = Target(**spec)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(
        drive(
            target,
            host=args.host,
            port=args.port,
            token=args.token,
            connections=args.connections,
            seconds=args.seconds,
        )
    )
    print("BENCH-JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
