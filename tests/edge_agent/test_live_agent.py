"""Live sessions on one agent: real snapserver and snapclient, signed commands handed to a running Agent."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from broadcast import protocol
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.gpio import NullRelay
from edge_agent.live import live_sha256
from edge_agent.outputs.file import FileSink
from tests.edge_agent.conftest import ClipServe
from tests.edge_agent.live_support import Feeder, Snapserver, live_start, live_stop, onset_s
from tests.edge_agent.programme_station import next_seq
from tests.support.free_port import free_port
from tests.support.snapcast import require_snapserver

pytestmark = pytest.mark.integration

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def snapserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapserver]:
    require_snapserver(client=True)  # the one check: under CI=true a missing tool fails
    server = Snapserver(tmp_path_factory.mktemp("snapserver"))
    yield server
    server.close()


@pytest.fixture
def feeder(snapserver: Snapserver) -> Iterator[Feeder]:
    feed = Feeder(snapserver.source_port)
    yield feed
    feed.close()


class Rig:
    """One in-process agent with a file sink and a recorded relay, and what it reported."""

    def __init__(self, config: AgentConfig, key: bytes, plays: Path) -> None:
        self.key, self.plays_dir = key, plays
        self.relay = NullRelay()
        self.agent = Agent(config, FileSink(plays, ffmpeg=FFMPEG), relay=self.relay)
        self.agent.start()

    def send(self, command: Any, key: bytes | None = None) -> float:
        sent = time.time()
        self.agent.handle(protocol.sign_body(command.to_body(), key or self.key))
        return sent

    def plays(self, kind: str | None = None) -> list[dict[str, Any]]:
        path = self.plays_dir / "plays.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if kind is None or r.get("kind") == kind]

    def reports(self, kind: str | None = None, command_id: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(payload) for _, payload in self.agent.outbox.pending()]
        return [
            r
            for r in found
            if (kind is None or r["type"] == kind) and (command_id is None or r["command_id"] == command_id)
        ]

    def wait(self, what: str, check: Callable[[], object], timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, (
                f"timed out waiting for {what}: {self.plays()} {self.reports()}"
            )
            time.sleep(0.02)


@pytest.fixture
def rig(
    agent_config: AgentConfig, tmp_path: Path, station_key: tuple[bytes, str], serve_clips: ClipServe
) -> Iterator[Rig]:
    (tmp_path / "www" / "clips").mkdir(parents=True)
    url = serve_clips(tmp_path / "www", [])
    config = dataclasses.replace(
        agent_config, station_url=url, mqtt_port=free_port(), ffmpeg=FFMPEG, relay_hold_s=0.5
    )
    rig = Rig(config, station_key[0], tmp_path / "plays")
    yield rig
    rig.agent.stop()


def test_join_hear_the_tone_leave_on_stop(rig: Rig, snapserver: Snapserver, feeder: Feeder) -> None:
    start = live_start("s-join", snapserver)
    sent = rig.send(start)
    rig.wait("the live line", lambda: rig.plays("live"))
    live = rig.plays("live")[0]
    assert live["session_id"] == "s-join" and live["command_id"] == start.id
    assert live["clip_sha256"] == live_sha256("s-join") == hashlib.sha256(b"live:s-join").hexdigest()
    assert 0 < live["started_at"] - sent < 3.0
    assert rig.relay.is_on  # at once, no pre-roll
    feeder.tone()
    time.sleep(1.0)
    feeder.tone(False)
    renewal = dataclasses.replace(start, id="ls-renew", seq=next_seq(), lease_until=time.time() + 20)
    rig.send(renewal)
    stopped = rig.send(live_stop("s-join"))
    rig.wait("the live_end line", lambda: rig.plays("live_end"), timeout=3)
    end = rig.plays("live_end")[0]
    assert end["cause"] == "stopped" and end["ended_at"] - stopped < 1.0
    assert len(rig.plays("live")) == 1  # the renewal extended the lease, it did not join again
    # The file is continuous on the wall clock: started_at + the tone's offset is when it was heard.
    assert feeder.tone_at is not None
    offset = onset_s(rig.plays_dir / live["file"])
    assert offset is not None
    assert 0.1 < live["started_at"] + offset - feeder.tone_at < 1.5
    assert 1.0 < end["duration_s"] < end["ended_at"] - live["started_at"] + 0.2
    (play,) = rig.reports("play")
    assert (play["command_id"], play["clip_sha256"]) == (start.id, live_sha256("s-join"))
    assert (play["priority"], play["duration_s"]) == ("priority", 0.0)
    assert not rig.reports("rejected")
    rig.wait("the relay off after hold_s", lambda: not rig.relay.is_on, timeout=3)


def test_lease_expiry_leaves_and_a_renewal_rejoins(rig: Rig, snapserver: Snapserver, feeder: Feeder) -> None:
    rig.send(live_start("s-lease", snapserver, lease_s=1.5))
    rig.wait("the lease to run out", lambda: rig.plays("live_end"), timeout=6)
    assert rig.plays("live_end")[0]["cause"] == "lease"
    rig.send(live_start("s-lease", snapserver))
    rig.wait("the rejoin", lambda: len(rig.plays("live")) == 2)
    rig.send(live_stop("s-lease"))
    rig.wait("the second leave", lambda: len(rig.plays("live_end")) == 2, timeout=3)
    assert not rig.reports("rejected")


def test_silence_leaves_is_reported_and_is_final(rig: Rig, snapserver: Snapserver, feeder: Feeder) -> None:
    start = live_start("s-quiet", snapserver, silence_s=3.0)
    rig.send(start)
    rig.wait("the silence bound", lambda: rig.plays("live_end"), timeout=8)
    assert rig.plays("live_end")[0]["cause"] == "silent"
    rig.wait("the rejection", lambda: rig.reports("rejected", start.id))
    assert rig.reports("rejected", start.id)[0]["reason"] == "live stream silent for 3 s"
    rig.send(live_start("s-quiet", snapserver, silence_s=3.0))
    time.sleep(0.8)
    assert len(rig.plays("live")) == 1  # no rejoining a silent session


def test_alert_preempts_live_and_the_next_renewal_rejoins(
    rig: Rig, snapserver: Snapserver, feeder: Feeder
) -> None:
    start = live_start("s-alert", snapserver)
    rig.send(start)
    rig.wait("the live line", lambda: rig.plays("live"))
    audio = b"siren-ish bytes"
    now = time.time()
    alert = protocol.AlertCommand(
        id="alert-1",
        seq=next_seq(),
        issued_at=now,
        expires_at=now + 30,
        zones=("thon-1",),
        alert_id=1,
        clip=protocol.ClipRef(
            f"{rig.agent.config.station_url}/clips/a.mp3", hashlib.sha256(audio).hexdigest(), len(audio), 1.0
        ),
        repeat=1,
        audio_b64=base64.b64encode(audio).decode(),
    )
    sent = rig.send(alert)
    rig.wait("the alert", lambda: rig.plays("alert"))
    assert rig.plays("alert")[0]["started_at"] - sent < 1.0
    rig.wait("the live_end line", lambda: rig.plays("live_end"))
    assert rig.plays("live_end")[0]["cause"] == "interrupted"
    rig.wait("the report", lambda: rig.reports("rejected", start.id))
    assert rig.reports("rejected", start.id)[0]["reason"] == "interrupted by alert alert-1"
    time.sleep(1.2)  # the alert (1 s) is over
    rig.send(dataclasses.replace(start, id="ls-after", seq=next_seq(), lease_until=time.time() + 15))
    rig.wait("the rejoin", lambda: len(rig.plays("live")) == 2)
    assert rig.plays("live")[1]["command_id"] == "ls-after"
    rig.send(live_stop("s-alert"))
    rig.wait("the leave", lambda: len(rig.plays("live_end")) == 2, timeout=3)


def _play(rig: Rig, tmp_path: Path, name: str, start_in: float, duration_s: float) -> protocol.PlayCommand:
    data = name.encode() * 10
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "www" / "clips" / f"{sha}.mp3").write_bytes(data)
    now = time.time()
    return protocol.PlayCommand(
        id=name,
        seq=next_seq(),
        issued_at=now,
        expires_at=now + 60,
        start_at=now + start_in,
        priority="priority",
        zones=("thon-1",),
        clip=protocol.ClipRef(f"{rig.agent.config.station_url}/clips/{sha}.mp3", sha, len(data), duration_s),
    )


def test_live_interrupts_the_programme_skips_what_is_due_and_it_resumes(
    rig: Rig, snapserver: Snapserver, feeder: Feeder, tmp_path: Path
) -> None:
    first = _play(rig, tmp_path, "bulletin-1", 0.3, 30.0)
    rig.send(first)
    rig.wait("the bulletin", lambda: rig.plays())
    during = _play(rig, tmp_path, "bulletin-2", 1.0, 2.0)
    after = _play(rig, tmp_path, "bulletin-3", 3.0, 1.0)
    rig.send(during)
    rig.send(after)
    rig.send(live_start("s-prog", snapserver))
    rig.wait("the interruption", lambda: rig.reports("rejected", first.id))
    assert rig.reports("rejected", first.id)[0]["reason"] == "interrupted by live broadcast s-prog"
    rig.wait("the skip", lambda: rig.reports("rejected", during.id), timeout=4)
    assert rig.reports("rejected", during.id)[0]["reason"] == "skipped: live broadcast s-prog"
    rig.send(live_stop("s-prog"))
    rig.wait("the programme to resume", lambda: any(p.get("command_id") == after.id for p in rig.plays()))
    assert not rig.reports("rejected", after.id)


def test_forged_or_foreign_live_start_is_refused(
    rig: Rig, snapserver: Snapserver, other_key: tuple[bytes, str]
) -> None:
    forged = live_start("s-forged", snapserver)
    rig.send(forged, key=other_key[0])
    elsewhere = live_start("s-elsewhere", snapserver, zones=("xa-khac",))
    rig.send(elsewhere)
    rig.wait(
        "both refusals", lambda: rig.reports("rejected", forged.id) and rig.reports("rejected", elsewhere.id)
    )
    assert "not this device's" in rig.reports("rejected", elsewhere.id)[0]["reason"]
    time.sleep(0.5)
    assert not rig.plays() and not rig.relay.switches
