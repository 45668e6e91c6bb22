"""Live broadcast through the whole product: officer's socket -> station -> snapserver -> agents -> speaker.

A real station process (managed Mosquitto and snapserver) and real edge-agent processes with file sinks.
The "mouth" is this script: it starts a session through the API, opens the officer's audio socket and
sends 20 ms PCM frames in real time, with a 1 kHz burst of 200 ms at the start of every second; the send
time of each burst's first frame is noted. Each agent's file sink keeps the session's audio continuous on
the wall clock (started_at + offset = when that sound was due on the speaker), so the bursts' onsets in
the files give mouth-to-speaker latency per agent and start skew between the agents of the zone.

Runs loopback, then with every agent's stream through a 4G-like link (bench/live_impair.py: 80 ± 30 ms,
stalls of 0.3-0.8 s every ~10 s, 2 Mbit/s), advertised to agents with BROADCAST_LIVE_PUBLIC_PORT.

Usage: python bench/live_path.py [--agents 3] [--seconds 20] [--buffer-ms 700] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

import numpy as np  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from bench.live_impair import ImpairedLink, Impairment  # noqa: E402
from bench.simulator.report import emit, environment, load_1m  # noqa: E402
from tests.support.free_port import free_port_block  # noqa: E402
from tests.support.live_audio import burst_onsets, matched  # noqa: E402
from tests.support.station import AgentProcess, StationProcess, running, wait_until  # noqa: E402

RATE = 16000  # the live wire format (broadcast/live/on_air.py)
FRAME = RATE // 50  # 20 ms
BURST_S = 0.2
GOALS_MS = {"loopback_p50": 1000.0, "impaired_p50": 2000.0, "skew": 20.0}


def _frames(seconds: float) -> list[tuple[bytes, bool]]:
    """Return 20 ms frames; True marks the first frame of a burst."""
    t = np.arange(FRAME) / RATE
    tone = (np.sin(2 * np.pi * 1000.0 * t) * 0.5 * 32767).astype("<i2").tobytes()
    quiet = bytes(FRAME * 2)
    frames = []
    for index in range(int(seconds * 50)):
        within = (index % 50) * 0.02
        frames.append((tone if within < BURST_S else quiet, index % 50 == 0))
    return frames


def _station(root: Path, buffer_ms: int, live_port: int, public_port: int | None) -> StationProcess:
    env = {
        "BROADCAST_LIVE_ENGINE": "snapcast",
        "BROADCAST_LIVE_PORT": str(live_port),
        "BROADCAST_LIVE_BIND": "127.0.0.1",
        "BROADCAST_LIVE_PUBLIC_HOST": "127.0.0.1",
        "BROADCAST_LIVE_BUFFER_MS": str(buffer_ms),
    }
    if public_port:
        env["BROADCAST_LIVE_PUBLIC_PORT"] = str(public_port)
    station = StationProcess(root / "station", extra_env=env)
    station.data_dir.mkdir(parents=True)
    station.cli("user", "add", "chutich", "--role", "approver", "--password-stdin", stdin="mat-khau-duyet\n")
    return station


def run(label: str, agents: int, seconds: float, buffer_ms: int, impaired: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"live-path-{label}-"))
    live_port = free_port_block(4)
    link = ImpairedLink(live_port, Impairment()) if impaired else None
    if link is not None:
        link.__enter__()
    try:
        station = _station(root, buffer_ms, live_port, link.port if link else None)
        token = station.cli("token", "create", "chutich").strip()
        fleet = []
        for index in range(agents):
            config = root / f"loa-{index}.toml"
            station.cli("device", "add", f"loa-{index}", "--zone", "thon-1", "--out", str(config))
            fleet.append(AgentProcess(config=config, plays_dir=root / f"plays-{index}"))
        with running(station, *fleet):
            station.start()
            for agent in fleet:
                agent.start()
            online = lambda: all(d["online"] for d in station.request("GET", "/api/devices", token)[1])  # noqa: E731
            assert wait_until(online, 30), "agents did not come online"
            status, session = station.request("POST", "/api/live", token, {"zones": ["thon-1"]})
            assert status == 201, session
            sent = _speak(station, token, session["id"], seconds)
            station.request("POST", f"/api/live/{session['id']}/stop", token)
            ended = lambda: all(any(p.get("kind") == "live_end" for p in a.plays()) for a in fleet)  # noqa: E731
            wait_until(ended, 15)
            return _figures(label, fleet, sent, link)
    finally:
        if link is not None:
            link.__exit__(None, None, None)


def _speak(station: StationProcess, token: str, session_id: str, seconds: float) -> list[float]:
    """Send the bursts in real time once the session is on air; return each burst's send time."""
    url = station.url.replace("http://", "ws://") + f"/api/live/{session_id}/audio"
    sent: list[float] = []
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        deadline = time.monotonic() + 15
        while json.loads(ws.recv(timeout=5))["state"] != "on_air":
            assert time.monotonic() < deadline, "never on air"
        began = time.monotonic()
        for index, (frame, burst) in enumerate(_frames(seconds)):
            delay = began + index * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if burst:
                sent.append(time.time())
            ws.send(frame)
    return sent


def _figures(
    label: str, fleet: list[AgentProcess], sent: list[float], link: ImpairedLink | None
) -> dict[str, Any]:
    heard: list[list[float | None]] = []
    for agent in fleet:
        line = next(p for p in agent.plays() if p.get("kind") == "live")
        onsets = burst_onsets(agent.plays_dir / line["file"], float(line["started_at"]))
        heard.append(matched(sent, onsets))
    latencies = [(o - s) * 1000 for row in heard for s, o in zip(sent, row, strict=True) if o is not None]
    skews = []
    for column in zip(*heard, strict=True):
        if all(o is not None for o in column):
            values = [o for o in column if o is not None]
            skews.append((max(values) - min(values)) * 1000)
    return {
        "label": label,
        "agents": len(fleet),
        "bursts_sent": len(sent),
        "bursts_heard": sum(o is not None for row in heard for o in row),
        "latency_ms": _stats(latencies),
        "skew_ms": _stats(skews),
        "stalls": link.stall_count() if link else 0,
    }


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--buffer-ms", type=int, default=700)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    loopback = run("loopback", args.agents, args.seconds, args.buffer_ms, impaired=False)
    impaired = run("impaired_4g", args.agents, args.seconds, args.buffer_ms, impaired=True)
    result = {
        "bench": "live_path",
        "buffer_ms": args.buffer_ms,
        "runs": [loopback, impaired],
        "goals_ms": GOALS_MS,
        "load_1m": load_1m(),
        "environment": environment(),
    }
    emit("live_path", result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
