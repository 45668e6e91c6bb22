"""Live sessions, the pure parts and the pump: plan, levels, decide, snapclient's argv, restarts, broken."""

from __future__ import annotations

import array
import dataclasses
import math
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from broadcast import protocol
from edge_agent.config import AgentConfig, dump_config, load_config
from edge_agent.handlers import AcceptedLive, Rejected, decide
from edge_agent.live import live_play, live_sha256, plan
from edge_agent.outputs import OutputError, PlayRequest
from edge_agent.outputs import live as live_module
from edge_agent.outputs.alsa import AlsaOutput
from edge_agent.outputs.live import FirstSample, LiveFeed, SilenceMeter, level_dbfs
from edge_agent.outputs.snapclient import find_snapclient, snapclient_command
from edge_agent.outputs.stream import PartialPlay
from tests.edge_agent.live_support import live_start, live_stop


def _start(**kw: Any) -> protocol.LiveStartCommand:
    return live_start("s1", 1704, **{"silence_s": 3.0, **kw})


def _stop(**kw: Any) -> protocol.LiveStopCommand:
    return live_stop("s1", **kw)


def _sine(db: float, seconds: float = 0.1) -> bytes:
    amplitude = 32767 * 10 ** (db / 20) * math.sqrt(2)  # an RMS of `db` dBFS
    n = int(22050 * seconds)
    return array.array(
        "h", (int(amplitude * math.sin(2 * math.pi * 440 * i / 22050)) for i in range(n))
    ).tobytes()


def test_levels_and_silence_meter() -> None:
    assert level_dbfs(bytes(4410)) == -math.inf
    assert level_dbfs(b"") == -math.inf
    assert abs(level_dbfs(_sine(-6.0)) + 6.0) < 0.3
    assert level_dbfs(_sine(-60.0)) < -50 < level_dbfs(_sine(-40.0))
    meter = SilenceMeter(100.0)
    meter.feed(_sine(-20.0), 101.0)
    meter.feed(_sine(-70.0), 103.0)
    assert meter.silent_for(104.5) == 3.5


def test_plan_join_renew_leave_and_final_sessions() -> None:
    now = time.time()
    start = _start()
    feed = LiveFeed(start, "snapclient", "loa-01")
    assert plan(start, None, None, now)[0] == "join"
    assert plan(start, feed, None, now)[0] == "renew"
    assert plan(start, None, "silent", now) == ("ignore", "session left for good (silent)")
    assert plan(start, None, None, start.lease_until)[0] == "ignore"
    assert plan(_stop(reason="xong"), feed, None, now) == ("leave", "stopped by the station: xong")
    assert plan(_stop(), None, None, now)[0] == "ignore"
    feed.leave("lease")
    assert plan(start, feed, None, now)[0] == "join"  # a renewal after the lease ran out rejoins


def test_renew_extends_the_lease_only_forward() -> None:
    start = _start()
    feed = LiveFeed(start, "snapclient", "loa-01")
    feed.renew(dataclasses.replace(start, lease_until=start.lease_until + 10, silence_s=5.0))
    feed.renew(dataclasses.replace(start, lease_until=start.lease_until - 5))
    assert (feed.lease_until, feed.silence_s) == (start.lease_until + 10, 3.0)
    feed.leave("silent", "quiet")
    feed.finish("interrupted")
    assert (feed.cause, feed.reason, feed.done.is_set()) == ("silent", "quiet", True)


def test_stand_in_play_and_argv() -> None:
    start = _start(title="Trực tiếp")
    play = live_play(start, 1000.0)
    assert (play.id, play.priority, play.start_at, play.clip.duration_s) == (
        start.id,
        "priority",
        1000.0,
        0.0,
    )
    assert play.clip.sha256 == live_sha256("s1")
    argv = snapclient_command("/usr/bin/snapclient", "10.0.0.1", 1704, "loa-01", latency_ms=120)
    assert argv[argv.index("--hostID") + 1] == "loa-01"
    assert argv[argv.index("--player") + 1] == "file:filename=stdout"
    assert argv[argv.index("--sampleformat") + 1] == "22050:16:*"
    assert argv[-2:] == ["--latency", "120"]
    assert "--latency" not in snapclient_command("snapclient", "h", 1, "d")
    with pytest.raises(OutputError, match="apt install snapclient"):
        find_snapclient("/nonexistent/snapclient")


def test_decide_live_commands(agent_config: AgentConfig, station_key: tuple[bytes, str]) -> None:
    def run(body: dict[str, Any]) -> object:
        return decide(protocol.sign_body(body, station_key[0]), time.time(), agent_config, set())

    start, stop = _start(), _stop()
    assert run(start.to_body()) == AcceptedLive(start)
    assert run(stop.to_body()) == AcceptedLive(stop)
    foreign = run(_start(zones=("xa-khac",)).to_body())
    assert isinstance(foreign, Rejected) and foreign.kind == "not-for-me"
    expired = run(_start(expires_at=time.time() - 1).to_body())
    assert isinstance(expired, Rejected) and expired.kind == "expired"
    smuggled = run({**start.to_body(), "host": "--player=alsa"})
    assert isinstance(smuggled, Rejected) and smuggled.kind == "malformed"


def test_config_keeps_snapclient_and_latency(agent_config: AgentConfig, tmp_path: Path) -> None:
    config = dataclasses.replace(agent_config, snapclient="/opt/snapclient", live_latency_ms=80)
    path = tmp_path / "agent.toml"
    path.write_text(dump_config(config))
    loaded = load_config(path)
    assert (loaded.snapclient, loaded.live_latency_ms) == ("/opt/snapclient", 80)


def _fake_snapclient(tmp_path: Path, body: str) -> str:
    """Write an executable stand-in for snapclient (a Python script) and return its path."""
    script = tmp_path / "fake-snapclient"
    script.write_text(f"#!{sys.executable}\nimport sys, time, math, array\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


_LOUD = """
runs = __import__("pathlib").Path(sys.argv[0] + ".runs")
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
tone = array.array("h", (int(8000 * math.sin(i / 3)) for i in range(1102))).tobytes()
for _ in range(6):
    sys.stdout.buffer.write(tone)
    sys.stdout.flush()
    time.sleep(0.05)
"""


def test_pump_restarts_snapclient_and_leaves_when_asked(tmp_path: Path) -> None:
    feed = LiveFeed(_start(), _fake_snapclient(tmp_path, _LOUD), "loa-01")
    chunks: list[bytes] = []
    started: list[float] = []
    threading.Timer(2.5, feed.leave, args=("stopped",)).start()  # Python starts slowly on busy cores
    result = feed.pump(chunks.append, started.append, threading.Event())
    assert feed.cause == "stopped" and len(started) == 1
    assert result.seconds > 0.3 and sum(map(len, chunks)) > 0
    assert len(Path(feed.argv[0] + ".runs").read_text()) >= 2  # it exited after 0.3 s and was restarted


def test_pump_gives_up_on_a_snapclient_without_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_module, "BROKEN_S", 0.6)
    mute = _fake_snapclient(tmp_path, "print('[Error] (Connection) Connection refused', file=sys.stderr)")
    feed = LiveFeed(_start(), mute, "loa-01")
    with pytest.raises(OutputError, match=r"cannot join live session s1: no audio .*Connection refused"):
        feed.pump(lambda pcm: None, lambda at: None, threading.Event())
    assert feed.cause == "broken"


def test_pump_leaves_a_silent_stream_and_at_lease_end(tmp_path: Path) -> None:
    quiet = _fake_snapclient(
        tmp_path,
        "while True:\n    sys.stdout.buffer.write(bytes(2204)); sys.stdout.flush(); time.sleep(0.05)",
    )
    feed = LiveFeed(_start(silence_s=3.0), quiet, "loa-01")
    feed.silence_s = 0.4  # the protocol's minimum is 3 s; the pump takes what it is given
    with pytest.raises(PartialPlay, match=r"live stream silent for 0\.4 s"):
        feed.pump(lambda pcm: None, lambda at: None, threading.Event())
    leased = LiveFeed(_start(lease_until=time.time() + 0.5), quiet, "loa-01")
    leased.pump(lambda pcm: None, lambda at: None, threading.Event())
    assert leased.cause == "lease"


def test_alsa_plays_live_pcm_through_one_short_buffered_aplay(tmp_path: Path) -> None:
    aplay = tmp_path / "aplay"
    aplay.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat > {tmp_path}/pcm\n')
    aplay.chmod(aplay.stat().st_mode | stat.S_IXUSR)
    feed = LiveFeed(_start(), _fake_snapclient(tmp_path, _LOUD), "loa-01")
    request = PlayRequest(live_play(feed.command, time.time()), Path("/dev/null"), "loa-01", live=feed)
    starts: list[float] = []
    threading.Timer(0.6, feed.leave, args=("stopped",)).start()
    AlsaOutput(ffmpeg="/bin/true", aplay=str(aplay)).live(request, starts.append, threading.Event())
    assert len(starts) == 1 and feed.cause == "stopped"
    assert (tmp_path / "args").read_text().split()[-1] == "--buffer-time=200000"
    assert (tmp_path / "pcm").stat().st_size > 2204


def test_install_adds_snapclient_and_disables_its_own_service() -> None:
    script = (Path(__file__).parents[2] / "edge_agent" / "install" / "install.sh").read_text()
    [packages] = [line for line in script.splitlines() if line.startswith("APT_PACKAGES=(")]
    assert "snapclient" in packages.removeprefix("APT_PACKAGES=(").removesuffix(")").split()
    assert "systemctl disable --now snapclient.service" in script


def test_first_sample_time_is_the_least_delayed_estimate() -> None:
    first = FirstSample()
    chunk = 2205  # 50 ms
    # Due at 100.0; the first read came 30 ms late, the third 10 ms late, the others on time.
    arrivals = [100.030, 100.050, 100.110, *(100.15 + 0.05 * k for k in range(7))]
    told = [first.take(chunk, at) for at in arrivals]  # told once ANCHOR_S (0.5 s) of PCM came
    assert told[:-1] == [None] * 9 and told[-1] == pytest.approx(100.0, abs=1e-6)
    assert first.settled() is None  # told once
    early = FirstSample()
    assert early.take(chunk, 5.0) is None and early.settled() == 5.0  # the feed ended before ANCHOR_S
