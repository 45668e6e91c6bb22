"""API throughput of a real `broadcast serve` on SQLite and on PostgreSQL; print one JSON object.

For each backend: a fresh database with `--devices` devices and `--bulletins` bulletins, one station
process (uvicorn, one worker) and, on PostgreSQL, also two workers on one database. Listing endpoints
are loaded with wrk (Debian package) when it is installed, otherwise with a Python keep-alive client;
bulletin creation (which synthesises speech) with a Python client at `--create-concurrency`. The load
generator runs on the same machine and takes CPU from the station: figures are a floor. The result is
also written to bench/results/api_throughput.json.

`--listing-only` measures only the list endpoints (devices with a heartbeat each, no ingest, no clip)
and writes bench/results/api_listing.json; `--station-root DIR` runs the station from another source
tree (e.g. `git archive <commit> | tar -x -C DIR`), to measure a change against the code before it.

Usage: python -m bench.api_throughput [--backends sqlite,postgresql] [--duration S] [--connections N]
       python -m bench.api_throughput --listing-only [--station-root DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import multiprocessing
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, make_url, select, text

from bench.http_load import python_load, request, wrk_load
from broadcast import protocol, reports
from broadcast.mqtt.credentials import hash_password
from broadcast.people import accounts
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Bulletin, Device, Zone

RESULTS = Path(__file__).resolve().parent / "results" / "api_throughput.json"
LISTING_RESULTS = RESULTS.with_name("api_listing.json")
PG_SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
# The device list pages by 100 since issue 9; `limit=1000` is the whole list, what it answered before.
LISTING = ("/api/devices", "/api/devices?limit=1000", "/api/bulletins")
ENDPOINTS = ("/healthz", *LISTING)
TEXT = "Ủy ban nhân dân xã thông báo: sáng thứ hai, 8 giờ, họp dân tại nhà văn hoá thôn {n}."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_admin(statement: str) -> None:
    engine = create_engine(make_url(PG_SERVER).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a fresh database of `backend`, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    name = f"bench_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, devices: int) -> dict[str, str]:
    """Create the schema, users and devices; return bearer tokens by role."""
    migrate(url)
    db = Database(url)
    password_hash = hash_password("bench-device-password")  # one hash: enrolment is not measured
    with db.session() as session:
        zones = [f"thon-{z}" for z in range(1, 31)]
        session.add_all(Zone(id=z, name=z) for z in zones)
        session.flush()
        session.add_all(
            Device(id=f"loa-{n:05d}", zone=zones[n % len(zones)], mqtt_password_hash=password_hash)
            for n in range(devices)
        )
        accounts.add_user(session, "canbo", "editor", "mat-khau-bien-tap")
        accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
        tokens = {"editor": accounts.issue_token(session, "canbo")}
    db.dispose()
    return tokens


def clone_bulletins(url: str, total: int) -> int:
    """Copy the created bulletins until there are `total` (listing cost, not synthesis, is measured)."""
    db = Database(url)
    with db.session() as session:
        rows = list(session.scalars(select(Bulletin)))
        have = len(rows)
        columns = [c.key for c in Bulletin.__table__.columns if c.key != "id"]
        extra = [{c: getattr(rows[i % have], c) for c in columns} for i in range(max(0, total - have))]
        if extra:
            session.execute(insert(Bulletin), extra)
        count = have + len(extra)
    db.dispose()
    return count


class Station:
    """A `broadcast serve` process on its own data dir and ports."""

    def __init__(
        self, directory: Path, url: str, clips: Path | None = None, source: Path | None = None
    ) -> None:
        self.directory = directory
        self.port = _free_port()
        directory.mkdir(parents=True, exist_ok=True)
        if clips is not None:
            (directory / "clips").symlink_to(clips, target_is_directory=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
        env.update(
            BROADCAST_DATA_DIR=str(directory),
            BROADCAST_DATABASE_URL=url,
            BROADCAST_MQTT_PORT=str(_free_port()),
            BROADCAST_QUIET_HOURS="",
            BROADCAST_HTTPS_PORT="0",  # several servers at once: none may take the default 8443
        )
        if source is not None:  # `python -m` puts the working directory first on sys.path
            env["PYTHONPATH"] = str(source)
        self._log = (directory / "station.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "broadcast.cli",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=source,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"station exited: {(directory / 'station.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("station did not become healthy in 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def _heartbeat(device_id: str) -> bytes:
    beat = protocol.Heartbeat(
        device_id=device_id,
        ts=time.time(),
        uptime_s=86400.0,
        agent_uptime_s=3600.0,
        cpu_temp_c=51.5,
        disk_free_bytes=8_000_000_000,
        cache_bytes=120_000_000,
        clock_offset_ms=0.4,
        clock_source="ntp",
        ntp_synced=True,
        version="0.1.0",
        volume=80,
    )
    return json.dumps(dataclasses.asdict(beat)).encode()


def _ingest_worker(url: str, first: int, count: int, devices: int) -> float:
    """Store `count` heartbeats the way the station's MQTT consumer does; return the seconds taken."""
    db = Database(url)
    messages = [
        (protocol.device_event_topic(f"loa-{n % devices:05d}"), _heartbeat(f"loa-{n % devices:05d}"))
        for n in range(first, first + count)
    ]
    started = time.perf_counter()
    for topic, payload in messages:
        reports.ingest(db, topic, payload)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed


def ingest_rate(url: str, devices: int, messages: int, processes: int) -> dict[str, Any]:
    """Heartbeats stored per second by `processes` consumers at once (shared-subscription workers)."""
    share = messages // processes
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        begun = time.perf_counter()
        times = pool.starmap(_ingest_worker, [(url, n * share, share, devices) for n in range(processes)])
        wall = time.perf_counter() - begun
    return {
        "processes": processes,
        "messages": share * processes,
        "messages_per_s": round(share * processes / max(times), 1),
        "ms_per_message": round(1000 * max(times) / share, 2),
        "wall_s": round(wall, 2),
    }


def _key(path: str) -> str:
    return re.sub(r"/clips/[0-9a-f]{64}", "/clips/{sha256}", path)


def long_clip(port: int, token: str, sentences: int) -> dict[str, Any]:
    """Create one long bulletin; return its clip's path, size and length (what agents download)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    text_body = " ".join(TEXT.format(n=n) for n in range(sentences))
    body = json.dumps({"title": "Bản tin dài", "text": text_body, "zones": ["thon-1"]}).encode()
    conn.request(
        "POST",
        "/api/bulletins",
        body,
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    created = json.loads(conn.getresponse().read())
    path = f"/clips/{created['clip_sha256']}.mp3"
    conn.request("GET", path)
    size = len(conn.getresponse().read())
    conn.close()
    return {"path": path, "bytes": size, "duration_s": created["duration_s"], "text_chars": len(text_body)}


def create_bulletins(port: int, token: str, count: int, concurrency: int) -> dict[str, Any]:
    """POST `count` bulletins from `concurrency` clients (each is read aloud by espeak-ng at once)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    numbers = iter(range(count))

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            body = {"title": f"Thông báo {n}", "text": TEXT.format(n=n), "zones": ["thon-1"]}
            started = time.monotonic()
            status = request(conn, "POST", "/api/bulletins", token, body)
            with lock:
                latencies.append(time.monotonic() - started)
                errors += status != 201
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - begun
    return {
        "tool": "python",
        "requests": count,
        "concurrency": concurrency,
        "requests_per_s": round(count / elapsed, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "errors": errors,
    }


def measure(backend: str, args: argparse.Namespace, use_wrk: bool) -> dict[str, Any]:
    """Seed one database, start the station(s), load each endpoint; return the figures."""
    load = wrk_load if use_wrk else python_load
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, database(backend, Path(tmp)) as url:
        tokens = seed(url, args.devices)
        result: dict[str, Any] = {"devices": args.devices}
        if args.listing_only:
            _ingest_worker(url, 0, args.devices, args.devices)  # every device shows a last heartbeat
        else:
            # Agent heartbeats into the database, without MQTT: the station's ingest cost per message.
            result["heartbeat_ingest"] = [
                ingest_rate(url, args.devices, args.ingest_messages, n) for n in (1, 2)
            ]
        if backend == "postgresql" and not args.listing_only:
            # The same with commits not waiting for the WAL flush (what a heartbeat-only session could use).
            relaxed = make_url(url).update_query_dict({"options": "-c synchronous_commit=off"})
            result["heartbeat_ingest_synchronous_commit_off"] = ingest_rate(
                relaxed.render_as_string(hide_password=False), args.devices, args.ingest_messages, 1
            )
        station = Station(Path(tmp) / "w1", url, source=args.station_root)
        try:
            result["create_bulletin"] = create_bulletins(
                station.port, tokens["editor"], args.creates, args.create_concurrency
            )
            endpoints: tuple[str, ...] = LISTING
            if not args.listing_only:
                clip = long_clip(station.port, tokens["editor"], args.clip_sentences)
                result["clip"] = {k: v for k, v in clip.items() if k != "path"}
                endpoints = (*ENDPOINTS, clip["path"])
            result["bulletins"] = clone_bulletins(url, args.bulletins)
            # One connection: the service time of a request, with no queueing in front of it.
            result["one_worker_one_connection"] = {
                _key(path): load([station.port], path, tokens["editor"], 1, args.duration / 2)
                for path in endpoints
            }
            result["one_worker"] = {
                _key(path): load([station.port], path, tokens["editor"], args.connections, args.duration)
                for path in endpoints
            }
            if backend == "postgresql" and args.workers > 1:
                # Clips are files in the first worker's data dir; the others share them (as object storage).
                others = [
                    Station(Path(tmp) / f"w{n}", url, station.directory / "clips", args.station_root)
                    for n in range(2, args.workers + 1)
                ]
                try:
                    ports = [station.port, *(s.port for s in others)]
                    result[f"{args.workers}_workers"] = {
                        _key(path): load(ports, path, tokens["editor"], args.connections, args.duration)
                        for path in endpoints
                    }
                finally:
                    for other in others:
                        other.stop()
        finally:
            station.stop()
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--devices", type=int, default=1000, help="a province's clusters: 1,000-2,000")
    parser.add_argument("--bulletins", type=int, default=50, help="bulletins in the listing")
    parser.add_argument("--creates", type=int, default=20)
    parser.add_argument("--create-concurrency", type=int, default=2)
    parser.add_argument("--clip-sentences", type=int, default=24, help="length of the served clip")
    parser.add_argument("--ingest-messages", type=int, default=4000, help="heartbeats stored per run")
    parser.add_argument("--workers", type=int, default=2, help="API workers on PostgreSQL (one port each)")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/results")
    parser.add_argument("--listing-only", action="store_true", help="only the list endpoints")
    parser.add_argument("--station-root", type=Path, help="run the station from this source tree")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default: bench/results)")
    args = parser.parse_args(argv)
    use_wrk = shutil.which("wrk") is not None
    report: dict[str, Any] = {
        "benchmark": "api_throughput",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],  # other work shares the cores
        },
        "load": {
            "duration_s": args.duration,
            "connections": args.connections,
            "generator": "wrk" if use_wrk else "python",
        },
        "station_source": str(args.station_root or "this tree"),
        "backends": {},
    }
    for backend in args.backends.split(","):
        report["backends"][backend] = measure(backend.strip(), args, use_wrk)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    text_out = json.dumps(report, indent=2, ensure_ascii=False)
    print(text_out)
    if not args.no_write:
        out = args.out or (LISTING_RESULTS if args.listing_only else RESULTS)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text_out + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
