"""HTTP load for the API benchmarks: wrk (Debian package) when installed, else keep-alive Python threads.

Both return the same figures: requests, requests/s, p50 and p99 latency in ms, non-2xx answers.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import threading
import time
from typing import Any


def request(conn: http.client.HTTPConnection, method: str, path: str, token: str, body: Any = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def python_load(ports: list[int], path: str, token: str, connections: int, duration: float) -> dict[str, Any]:
    """Keep-alive GETs from `connections` threads for `duration` seconds."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client(port: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        while (started := time.monotonic()) < stop_at:
            if request(conn, "GET", path, token) != 200:
                bad += 1
            mine.append(time.monotonic() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client, args=(ports[i % len(ports)],)) for i in range(connections)]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - begun
    return {
        "tool": "python",
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "errors": errors,
    }


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _grab(pattern: str, output: str) -> str:
    found = re.search(pattern, output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk output without {pattern!r}: {output}")
    return found.group(1)


def _wrk_ms(value: str) -> float:
    number, unit = _grab(r"^([\d.]+)(?:us|ms|s)$", value), _grab(r"(us|ms|s)$", value)
    return round(float(number) * _WRK_UNITS[unit], 2)


def wrk_load(ports: list[int], path: str, token: str, connections: int, duration: float) -> dict[str, Any]:
    """Run one wrk per worker port at once; sum their rates (latency: the worst worker's)."""
    per_port = max(1, connections // len(ports))
    command = [
        "wrk",
        "-t1",
        f"-c{per_port}",
        f"-d{duration:g}s",
        *("--timeout", "60s"),  # a saturated listing queues for seconds: count it, do not drop it
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    runs = [
        subprocess.Popen([*command, f"http://127.0.0.1:{port}{path}"], stdout=subprocess.PIPE, text=True)
        for port in ports
    ]
    outputs = [run.communicate()[0] for run in runs]
    non_2xx = [re.search(r"Non-2xx or 3xx responses: (\d+)", out) for out in outputs]
    sockets = [re.search(r"Socket errors: (.*)", out) for out in outputs]
    return {
        "tool": "wrk",
        "requests": sum(int(_grab(r"(\d+) requests in", out)) for out in outputs),
        "requests_per_s": round(sum(float(_grab(r"Requests/sec:\s+([\d.]+)", out)) for out in outputs), 1),
        "p50_ms": max(_wrk_ms(_grab(r"^\s+50%\s+(\S+)\s*$", out)) for out in outputs),
        "p99_ms": max(_wrk_ms(_grab(r"^\s+99%\s+(\S+)\s*$", out)) for out in outputs),
        "errors": sum(int(m.group(1)) for m in non_2xx if m is not None),
        "socket_errors": [m.group(1) for m in sockets if m is not None],
    }
