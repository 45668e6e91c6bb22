"""Faults on the agent, each ending in a correct state with nothing lost.

Power loss (SIGKILL) mid-download and mid-play, a full disk (a real 1 MiB tmpfs on the state dir), and
wall-clock jumps. Broker and station restarts are covered elsewhere: tests/edge_agent/
test_programme_process.py (broker and clip server down, broker restart, reports after reconnect, kill -9
offline) and tests/integration/test_programme_offline.py (station and broker dead at air time; a station
killed before airing plays the slot exactly once).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import http.server
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from broadcast import protocol
from edge_agent import cache as cache_module
from edge_agent import playout as playout_module
from edge_agent.cache import ClipCache
from edge_agent.clock import ClockMonitor
from edge_agent.outbox import Outbox
from edge_agent.outputs import PlayRequest
from edge_agent.outputs.file import FileSink
from edge_agent.playout import Playout
from edge_agent.seen import SeenStore
from tests.edge_agent.conftest import new_keypair
from tests.edge_agent.programme_station import CLIP_SECONDS, ZONE, ProgrammeStation, make_sine_mp3, next_seq
from tests.support.timing import ON_TIME_S

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mp3_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sine_mp3(tmp_path_factory.mktemp("audio") / "sine.mp3")


DEVICE = "loa-01"
KEY = new_keypair()


def _command(clip: protocol.ClipRef, start_in: float, command_id: str = "") -> protocol.PlayCommand:
    now = time.time()
    return protocol.PlayCommand(
        id=command_id or f"cmd-{time.time_ns()}",
        seq=next_seq(),
        issued_at=now,
        expires_at=now + start_in + 60,
        start_at=now + start_in,
        priority="normal",
        zones=(ZONE,),
        clip=clip,
        title="Thông báo",
    )


def _send(station: ProgrammeStation, command: protocol.PlayCommand) -> None:
    payload = protocol.sign_body(command.to_body(), KEY[0])
    topic = protocol.device_command_topic(DEVICE)
    station.client.publish(topic, payload, qos=1).wait_for_publish(5)


def _restart(station: ProgrammeStation, sig: signal.Signals = signal.SIGKILL) -> None:
    agent = station.agents[DEVICE]
    agent.stop(sig)
    station.wait_for("agent offline", lambda: not station.online(DEVICE))
    agent.start()
    station.wait_for("agent back online", lambda: station.online(DEVICE))


@pytest.fixture
def station(tmp_path: Path, mp3_clip: Path) -> Iterator[ProgrammeStation]:
    station = ProgrammeStation(tmp_path, [DEVICE], mp3_clip, KEY, handler=_StallingHandler)
    try:
        yield station
    finally:
        _StallingHandler.release.set()
        station.close()


class _StallingHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files; while `stall` is set, send half of the next clip and hang (a link dying mid-download)."""

    stall = threading.Event()
    release = threading.Event()
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if not (self.path.endswith(".mp3") and self.stall.is_set()):
            super().do_GET()
            return
        self.stall.clear()
        data = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.release.wait(20)  # the agent is killed meanwhile: the rest never arrives
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _big_clip(station: ProgrammeStation, root: Path) -> protocol.ClipRef:
    """Publish a 200 kB clip: larger than one download chunk, so a cut download leaves bytes behind."""
    data = (root / "www" / "clips" / f"{station.clip.sha256}.mp3").read_bytes()
    data += bytes(200_000 - len(data))
    sha = hashlib.sha256(data).hexdigest()
    (root / "www" / "clips" / f"{sha}.mp3").write_bytes(data)
    return protocol.ClipRef(f"{station.base_url}/clips/{sha}.mp3", sha, len(data), CLIP_SECONDS)


def test_power_cut_mid_download_refetches_and_verifies_the_clip(
    station: ProgrammeStation, tmp_path: Path
) -> None:
    clip = _big_clip(station, tmp_path)
    _StallingHandler.requests.clear()
    _StallingHandler.release.clear()
    _StallingHandler.stall.set()
    agent = station.add_agent(DEVICE)
    station.wait_for("agent online", lambda: station.online(DEVICE))
    clips = agent.directory / "state" / "clips"
    command = _command(clip, start_in=6.0)
    _send(station, command)
    station.wait_for(
        "half the clip on disk", lambda: any(p.stat().st_size > 0 for p in clips.glob(".part-*"))
    )
    agent.stop(signal.SIGKILL)  # mid-download
    assert not (clips / clip.sha256).exists()  # only the partial file, never under the clip's name
    _StallingHandler.release.set()
    station.wait_for("agent offline", lambda: not station.online(DEVICE))
    agent.start()

    station.wait_for("the play report", lambda: bool(station.reports(protocol.PlayReport, command.id)))
    (play,) = agent.plays(command.id)
    assert abs(play["started_at"] - command.start_at) < ON_TIME_S
    assert hashlib.sha256((clips / clip.sha256).read_bytes()).hexdigest() == clip.sha256
    assert not list(clips.glob(".part-*"))  # the partial file was removed, not used
    fetched = [p for p in _StallingHandler.requests if p.endswith(".mp3")]
    assert fetched == [f"/clips/{clip.sha256}.mp3"] * 2


def test_power_cut_mid_play_reports_the_cut_play_and_plays_nothing_twice(station: ProgrammeStation) -> None:
    agent = station.add_agent(DEVICE)
    station.wait_for("agent online", lambda: station.online(DEVICE))
    first, cut, later = (_command(station.clip, start_in) for start_in in (1.5, 4.0, 8.5))
    for command in (first, cut, later):
        _send(station, command)
    station.wait_for("the second play on air", lambda: bool(station.reports(protocol.PlayReport, cut.id)))
    time.sleep(0.7)
    _restart(station)  # power cut 0.7 s into the second play

    station.wait_for("the cut play reported", lambda: bool(station.reports(protocol.CommandRejected, cut.id)))
    (report,) = station.reports(protocol.CommandRejected, cut.id)
    assert (
        report.reason.startswith("cut off by a power loss or crash") and "not played again" in report.reason
    )
    assert f"command {cut.id} was playing when the agent stopped" in agent.log_path.read_text()
    for command in (first, cut):  # a station retry or a redelivery changes nothing
        _send(station, command)
    station.wait_for("the later play", lambda: bool(station.reports(protocol.PlayReport, later.id)))
    time.sleep(CLIP_SECONDS + 0.3)
    assert [len(agent.plays(c.id)) for c in (first, cut, later)] == [1, 1, 1]
    assert abs(agent.plays(later.id)[0]["started_at"] - later.start_at) < ON_TIME_S
    assert station.reports(protocol.CommandRejected, first.id) == []
    state = agent.directory / "state"
    assert not list((state / "pending").glob("*.cmd")) and not list((state / "playing").glob("*.json"))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Return the agent's state dir on a 1 MiB tmpfs (a real file system that fills up)."""
    state = tmp_path / DEVICE / "state"
    state.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(state)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def _fill(directory: Path) -> Path:
    """Fill the file system of directory to the last byte; return the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (64 * 1024, 4096, 1):
            while _write(fd, b"\0" * size):
                pass
    finally:
        os.close(fd)
    return filler


def _write(fd: int, data: bytes) -> bool:
    """Write data unbuffered; return False once the file system is full."""
    try:
        return os.write(fd, data) == len(data)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        return False


def test_full_disk_is_logged_keeps_playing_and_recovers(
    station: ProgrammeStation, small_disk: Path, tmp_path: Path
) -> None:
    agent = station.add_agent(DEVICE)
    station.wait_for("agent online", lambda: station.online(DEVICE))
    before = _command(station.clip, start_in=1.0)
    _send(station, before)
    station.wait_for("a play before", lambda: bool(station.reports(protocol.PlayReport, before.id)))
    time.sleep(CLIP_SECONDS + 0.5)  # over, and its files gone: nothing frees space after the fill

    filler = _fill(small_disk)
    during = _command(station.clip, start_in=1.0)  # its clip is cached: it can still play
    data = (tmp_path / "www" / "clips" / f"{station.clip.sha256}.mp3").read_bytes()
    other = data + b"\0" * 4096  # another clip, never fetched yet: no room for it
    sha = hashlib.sha256(other).hexdigest()
    (tmp_path / "www" / "clips" / f"{sha}.mp3").write_bytes(other)
    uncached = _command(
        protocol.ClipRef(f"{station.base_url}/clips/{sha}.mp3", sha, len(other), 1.0), start_in=2.0
    )
    _send(station, during)
    _send(station, uncached)
    station.wait_for("the play during", lambda: bool(station.reports(protocol.PlayReport, during.id)))
    station.wait_for("the refusal", lambda: bool(station.reports(protocol.CommandRejected, uncached.id)))
    assert "disk full" in station.reports(protocol.CommandRejected, uncached.id)[0].reason
    text = agent.log_path.read_text()
    assert f"could not save command {during.id} (kept in memory only until it plays)" in text
    assert "disk full (no space left on device)" in text and "Traceback" not in text
    assert agent.process is not None and agent.process.poll() is None
    time.sleep(CLIP_SECONDS)

    filler.unlink()  # space comes back
    after = _command(station.clip, start_in=1.0)
    _send(station, after)
    station.wait_for("a play after", lambda: bool(station.reports(protocol.PlayReport, after.id)))
    seen = {json.loads(line)["id"] for line in (small_disk / "seen.jsonl").read_text().splitlines()}
    assert {before.id, during.id, uncached.id, after.id} <= seen
    assert json.loads((small_disk / "sequence.json").read_bytes())["high"] == after.seq  # written again
    time.sleep(CLIP_SECONDS + 0.2)

    _restart(station, signal.SIGTERM)
    for command in (before, during, after):  # redelivered after the restart: each played once only
        _send(station, command)
    time.sleep(1.0)
    assert [len(agent.plays(c.id)) for c in (before, during, after)] == [1, 1, 1]
    assert "Traceback" not in agent.log_path.read_text()


def test_append_only_stores_keep_ids_and_reports_in_memory_on_a_full_disk_and_rewrite_them(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen, outbox = SeenStore(small_disk / "seen.jsonl"), Outbox(small_disk / "outbox.jsonl")
    filler = _fill(small_disk)
    with caplog.at_level(logging.ERROR):
        # A file's last page has room left after the disk is full: append until even that is gone.
        for number in range(400):
            seen.add(f"cmd-{number:03d}", time.time() + 60)
            outbox.add(f'{{"report": {number}}}'.encode())
    assert any("could not save the received command ids" in r.getMessage() for r in caplog.records)
    assert any("could not save the reports" in r.getMessage() for r in caplog.records)
    assert all("disk full" in r.getMessage() for r in caplog.records)
    assert "cmd-399" in seen and len(outbox.pending()) == 400  # still known, still to be sent

    filler.unlink()
    seen.add("cmd-400", time.time() + 60)
    outbox.ack(1)
    seen.close()
    outbox.close()
    again, reports = SeenStore(small_disk / "seen.jsonl"), Outbox(small_disk / "outbox.jsonl")
    assert len(again) == 401 and "cmd-399" in again
    assert [key for key, _ in reports.pending()] == list(range(2, 401))


class JumpingClock(SimpleNamespace):
    """A stand-in for the `time` module whose wall clock can jump (monotonic time runs on)."""

    def __init__(self) -> None:
        super().__init__(sleep=time.sleep, monotonic=time.monotonic, strftime=time.strftime)
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> JumpingClock:
    jumping = JumpingClock()
    monkeypatch.setattr(playout_module, "time", jumping)
    monkeypatch.setattr(cache_module, "time", jumping)
    return jumping


def _playout(tmp_path: Path) -> tuple[Playout, list[protocol.AgentMessage], FileSink]:
    reports: list[protocol.AgentMessage] = []
    output = FileSink(tmp_path / "plays")
    playout = Playout(output, DEVICE, reports.append)
    playout.start()
    return playout, reports, output


def _request(clip_path: Path, start_at: float, command_id: str) -> PlayRequest:
    data = clip_path.read_bytes()
    clip = protocol.ClipRef("http://station/clips/a.mp3", hashlib.sha256(data).hexdigest(), len(data), 0.5)
    command = protocol.PlayCommand(
        command_id, next_seq(), start_at - 10, start_at + 30, start_at, "normal", (ZONE,), clip
    )
    return PlayRequest(command, clip_path, DEVICE)


def _played(output: FileSink) -> list[str]:
    path = output.log_path
    return [json.loads(line)["command_id"] for line in path.read_text().splitlines()] if path.exists() else []


def test_clock_jump_forward_skips_missed_items_one_by_one_instead_of_firing_them_together(
    tmp_path: Path,
    mp3_clip: Path,
    clock: JumpingClock,
) -> None:
    playout, reports, output = _playout(tmp_path)
    try:
        now = time.time()
        for index in range(3):
            playout.schedule(_request(mp3_clip, now + 1.0 + index, f"item-{index}"))
        clock.offset = 3600.0  # the clock steps an hour ahead (NTP after a long outage, a bad RTC)
        deadline = time.monotonic() + 5
        while len(reports) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert _played(output) == []  # nothing blared out at once
        assert sorted(r.command_id for r in reports if isinstance(r, protocol.CommandRejected)) == [
            "item-0",
            "item-1",
            "item-2",
        ]
        assert len(reports) == 3
    finally:
        playout.stop()


def test_clock_jump_backward_neither_replays_nor_fires_early(
    tmp_path: Path,
    mp3_clip: Path,
    clock: JumpingClock,
) -> None:
    playout, reports, output = _playout(tmp_path)
    try:
        now = time.time()
        playout.schedule(_request(mp3_clip, now + 0.5, "first"))
        playout.schedule(_request(mp3_clip, now + 2.0, "second"))
        while _played(output) != ["first"] and time.time() < now + 3:
            time.sleep(0.02)
        clock.offset = -3600.0  # the clock steps an hour back
        time.sleep(max(0.0, now + 2.3 - time.time()))
        assert _played(output) == ["first"]  # not replayed; the second waits for its (local) time
        clock.offset = 0.0  # corrected again
        time.sleep(1.8)
        assert _played(output) == ["first", "second"]
        assert not [r for r in reports if isinstance(r, protocol.CommandRejected)]
    finally:
        playout.stop()


def test_clock_jump_shows_in_the_http_date_check(
    tmp_path: Path,
    mp3_clip: Path,
    clock: JumpingClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    data = mp3_clip.read_bytes()
    (www / "a.mp3").write_bytes(data)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        monitor = ClockMonitor(run=lambda command: None)  # no NTP daemon: the HTTP Date is the reference
        cache = ClipCache(tmp_path / "clips", 10**7, on_date=monitor.note_http_date)
        clip = protocol.ClipRef(
            f"http://127.0.0.1:{server.server_address[1]}/a.mp3",
            hashlib.sha256(data).hexdigest(),
            len(data),
            2,
        )
        clock.offset = 3600.0
        with caplog.at_level(logging.WARNING, logger="edge_agent.clock"):
            cache.ensure(clip)
        assert any("off the station's (HTTP Date)" in r.getMessage() for r in caplog.records)
        reading = monitor.reading()
        assert reading.source == "http" and reading.offset_ms is not None and reading.offset_ms > 3_590_000
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
