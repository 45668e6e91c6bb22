"""The edge agent in a live session: join latency, start skew, alert preemption, CPU and memory.

Real Mosquitto, a real snapserver (one TCP input, buffer 400 ms, flac mono 48 kHz) and two real
edge-agent processes of one zone with file sinks. Each round: a signed live_start is published; join
latency = publish -> the first PCM handed to the output (the sink's `started_at`); a 1 kHz tone is fed
into the server and its onset found in both sinks' files (started_at + offset), giving the tone's way
from the server's input to the speaker and the skew between the two agents; then a signed alert is
published and preempt latency = publish -> the siren starting in the sink (the live play is cut first).
Between rounds the session is stopped. Last, CPU and RSS are sampled while a session plays: the agent
process, its snapclient, and the file sink's MP3 encoder (on a Pi the encoder is aplay instead).

Usage: python bench/live_agent.py [--rounds 5] [--sample-s 10] [--out FILE]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.agent_footprint import cpu_ticks, rss_kb  # noqa: E402
from bench.simulator.report import emit, environment, load_1m  # noqa: E402
from broadcast import protocol  # noqa: E402
from tests.edge_agent.conftest import new_keypair  # noqa: E402
from tests.edge_agent.live_support import Feeder, Snapserver, live_start, live_stop, onset_s  # noqa: E402
from tests.edge_agent.programme_station import AgentProcess, next_seq  # noqa: E402
from tests.edge_agent.test_alert_process import ZONE_A, AlertStation  # noqa: E402

GOAL_PREEMPT_MS = 300.0
TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(directory: Path, requests: list[str]) -> str:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _lines(agent: AgentProcess, kind: str, session: str | None = None) -> list[dict[str, Any]]:
    return [p for p in agent.plays() if p.get("kind") == kind and session in (None, p.get("session_id"))]


def _sirens(agent: AgentProcess, alert_id: str) -> list[dict[str, Any]]:
    return [p for p in agent.plays(alert_id) if p.get("kind") == "alert" and p["part"] == "preamble"]


def _wait(what: str, check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _children(pid: int) -> dict[str, int]:
    """Return the direct children of pid by command name (snapclient, ffmpeg)."""
    found: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            name = Path(f"/proc/{child}/comm").read_text().strip()
            found["ffmpeg_encoder" if name.startswith("ffmpeg") else name] = int(child)
    return found


def _sample(pids: dict[str, int], seconds: float) -> dict[str, dict[str, float]]:
    ticks = {name: cpu_ticks(pid) for name, pid in pids.items()}
    rss: dict[str, list[int]] = {name: [] for name in pids}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for name, pid in pids.items():
            rss[name].append(rss_kb(pid))
        time.sleep(0.5)
    wall = time.monotonic() - started
    return {
        name: {
            "rss_mb_median": round(statistics.median(rss[name]) / 1024, 1),
            "cpu_pct_of_one_core": round(100 * (cpu_ticks(pid) - ticks[name]) / TICKS / wall, 2),
        }
        for name, pid in pids.items()
    }


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "max": round(ordered[-1], 1),
        "min": round(ordered[0], 1),
    }


def run(rounds: int, sample_s: float) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="live-agent-bench-"))
    key = new_keypair()
    station = AlertStation(root, _serve, key)
    server = Snapserver(root / "snapserver")
    feeder = Feeder(server.source_port)
    join_ms: list[float] = []
    tone_ms: list[float] = []
    skew_ms: list[float] = []
    preempt_ms: list[float] = []
    leave_ms: list[float] = []
    try:
        agents = [station.add_agent(device) for device in ("loa-a1", "loa-a2")]
        station.wait_for("agents online", lambda: station.online() >= {"loa-a1", "loa-a2"}, timeout=20)
        siren = station.clip("siren", 3000, 0.5)
        topic = protocol.zone_command_topic(ZONE_A)
        for index in range(rounds):
            session = f"bench-{index}"
            sent = station.send(live_start(session, server, zones=(ZONE_A,)), topic)
            _wait("both joined", lambda s=session: all(_lines(a, "live", s) for a in agents))
            join_ms += [(_lines(a, "live", session)[0]["started_at"] - sent) * 1000 for a in agents]
            time.sleep(0.3)
            feeder.tone()
            time.sleep(0.6)
            feeder.tone(False)
            time.sleep(0.8)  # the tone is through the server's buffer
            audio = f"alert {index}".encode()
            now = time.time()
            alert = protocol.AlertCommand(
                id=f"alert-{index}",
                seq=next_seq(),
                issued_at=now,
                expires_at=now + 30,
                zones=(ZONE_A,),
                alert_id=index + 1,
                clip=protocol.ClipRef(
                    f"{station.base_url}/clips/x.mp3", hashlib.sha256(audio).hexdigest(), len(audio), 0.3
                ),
                preamble=siren,
                repeat=1,
                audio_b64=base64.b64encode(audio).decode(),
            )
            sent = station.send(alert, topic)
            _wait("the sirens", lambda i=index: all(_sirens(a, f"alert-{i}") for a in agents))
            preempt_ms += [(_sirens(a, alert.id)[0]["started_at"] - sent) * 1000 for a in agents]
            _wait("live cut", lambda s=session: all(_lines(a, "live_end", s) for a in agents))
            heard = []
            for agent in agents:
                live = _lines(agent, "live", session)[0]
                offset = onset_s(agent.directory / "plays" / live["file"])
                if offset is not None and feeder.tone_at is not None:
                    heard.append(live["started_at"] + offset)
                    tone_ms.append((heard[-1] - feeder.tone_at) * 1000)
            if len(heard) == 2:
                skew_ms.append(abs(heard[0] - heard[1]) * 1000)
            station.send(live_stop(session, zones=(ZONE_A,)), topic)
            time.sleep(1.0)  # the alert ends
        # Leave latency, and CPU / RSS while a session plays (with a tone half the time, like speech).
        session = "bench-footprint"
        station.send(live_start(session, server, zones=(ZONE_A,), lease_s=60), topic)
        _wait("joined", lambda: all(_lines(a, "live", session) for a in agents))
        time.sleep(1.0)
        agent = agents[0]
        assert agent.process is not None
        pids = {"agent": agent.process.pid, **_children(agent.process.pid)}
        stop_tone = threading.Event()

        def talk() -> None:
            while not stop_tone.wait(0.5):
                feeder.tone(not feeder._tone.is_set())

        talker = threading.Thread(target=talk, daemon=True)
        talker.start()
        footprint = _sample(pids, sample_s)
        stop_tone.set()
        talker.join()
        feeder.tone(False)
        sent = station.send(live_stop(session, zones=(ZONE_A,)), topic)
        _wait("left", lambda: all(_lines(a, "live_end", session) for a in agents))
        leave_ms += [(_lines(a, "live_end", session)[0]["ended_at"] - sent) * 1000 for a in agents]
    finally:
        feeder.close()
        server.close()
        station.close()
    preempt = _stats(preempt_ms)
    return {
        "what": "edge agent in a live session: 2 agent processes, real Mosquitto, snapserver buffer 400 ms",
        "rounds": rounds,
        "join_ms": {**_stats(join_ms), "span": "live_start publish -> first PCM to the output (file sink)"},
        "tone_input_to_sink_ms": {
            **_stats(tone_ms),
            "span": "tone into snapserver's TCP input -> its onset in the sink (server buffer 400 ms)",
        },
        "skew_ms": {**_stats(skew_ms), "span": "tone onset, agent 1 vs agent 2"},
        "alert_preempts_live_ms": {
            **preempt,
            "span": "alert publish -> siren started in the sink, live play cut first",
            "goal_ms": GOAL_PREEMPT_MS,
            "goal_met": preempt["max"] <= GOAL_PREEMPT_MS,
        },
        "leave_ms": {**_stats(leave_ms), "span": "live_stop publish -> live_end in the sink"},
        "footprint_while_live": {**footprint, "sample_s": sample_s},
        "load_1m": load_1m(),
        "environment": environment(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    emit("live_agent", run(args.rounds, args.sample_s), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
