"""Clip store throughput, local directory vs S3 (moto's S3 server, loopback HTTP), in one run; prints JSON.

For each backend: put N new clips (upload), put them again (idempotent: a stat, no upload), read them back
(sha256-checked), and stream them with several threads at once (what the station's /clips route does per
agent request). Clips are random bytes of --size (default 1 MB, one 167 s bulletin at 48 kbit/s); each
figure is the median of --runs runs (a fresh store each run), interleaving the two backends.

moto is a Python server in this process: the S3 figures bound what the client and the protocol cost on
this machine, not what MinIO or a cloud store would sustain. Written to bench/results/clip_store.json.

Usage: python -m bench.clip_store [--clips N] [--size BYTES] [--threads T] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from minio import Minio
from moto.server import ThreadedMotoServer

from broadcast.clipstore.s3 import S3ClipStore
from broadcast.clipstore.store import ClipStorage, LocalClipStore

RESULTS = Path(__file__).resolve().parent / "results" / "clip_store.json"
KEY, SECRET, REGION = "bench", "bench-secret", "us-east-1"


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def measure(store: ClipStorage, clips: list[bytes], threads: int) -> dict[str, float]:
    """Return put / put-again / read / parallel-stream rates of one store."""
    size_mb = sum(len(c) for c in clips) / 1e6
    shas: list[str] = []
    put = _timed(lambda: shas.extend(store.put(c) for c in clips))
    again = _timed(lambda: [store.put(c) for c in clips])
    read = _timed(lambda: [store.read(s) for s in shas])

    def stream(sha: str) -> int:
        return sum(len(block) for block in store.open_stream(sha).chunks)

    with ThreadPoolExecutor(threads) as pool:
        streamed = _timed(lambda: list(pool.map(stream, shas * threads)))
    n = len(clips)
    return {
        "put_per_s": round(n / put, 1),
        "put_mb_per_s": round(size_mb / put, 1),
        "put_again_per_s": round(n / again, 1),
        "read_per_s": round(n / read, 1),
        "read_mb_per_s": round(size_mb / read, 1),
        f"stream_{threads}_threads_per_s": round(n * threads / streamed, 1),
        f"stream_{threads}_threads_mb_per_s": round(size_mb * threads / streamed, 1),
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 1) for key in runs[0]}


def run(count: int, size: int, threads: int, runs: int) -> dict[str, Any]:
    """Measure both backends on the same clips, `runs` times each; return the report."""
    clips = [os.urandom(size) for _ in range(count)]
    load_before = os.getloadavg()
    local: list[dict[str, float]] = []
    s3: list[dict[str, float]] = []
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = Minio(f"{host}:{port}", access_key=KEY, secret_key=SECRET, secure=False, region=REGION)
        for n in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                local.append(measure(LocalClipStore(Path(tmp) / "clips"), clips, threads))
            client.make_bucket(f"bench-{n}")
            store = S3ClipStore(
                f"http://{host}:{port}",
                f"bench-{n}",
                "clips",
                access_key=KEY,
                secret_key=SECRET,
                region=REGION,
            )
            s3.append(measure(store, clips, threads))
    finally:
        server.stop()
    return {
        "benchmark": "clip_store",
        "clips": count,
        "clip_bytes": size,
        "threads": threads,
        "runs": runs,
        "local": _median(local),
        "s3_moto": _median(s3),
        "s3_server": "moto ThreadedMotoServer (Python, in-process, loopback HTTP)",
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print and save the JSON report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results")
    args = parser.parse_args(argv)
    output = json.dumps(run(args.clips, args.size, args.threads, args.runs), indent=2)
    print(output)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(output + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
