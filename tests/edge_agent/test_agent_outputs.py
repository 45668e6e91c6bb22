"""Speaker outputs: the file sink's record and timing; the ALSA pipeline with a stand-in aplay."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from broadcast import protocol
from edge_agent.outputs import OutputError, PlayRequest, parse_output
from edge_agent.outputs.alsa import AlsaOutput, aplay_command, find_aplay
from edge_agent.outputs.ffmpeg import decode_command
from edge_agent.outputs.file import FileSink


def play_request(clip_path: Path, duration_s: float = 0.3, url_name: str = "bản-tin.mp3") -> PlayRequest:
    """Return the request to play a clip now (the agent's outputs' tests share it)."""
    data = clip_path.read_bytes()
    now = time.time()
    command = protocol.PlayCommand(
        id="cmd-7",
        seq=7,
        issued_at=now,
        expires_at=now + 60,
        start_at=now,
        priority="priority",
        zones=("thon-1",),
        clip=protocol.ClipRef(
            url=f"http://127.0.0.1:8080/clips/{url_name}",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            duration_s=duration_s,
        ),
        title="Lịch tiêm phòng",
    )
    return PlayRequest(command, clip_path, "loa-01")


def _script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_file_sink_records_at_start_and_keeps_audio(tmp_path: Path) -> None:
    clip = tmp_path / "clip"
    clip.write_bytes(b"ID3 fake audio")
    sink = parse_output(f"file:{tmp_path / 'out'}")
    assert isinstance(sink, FileSink)
    request = play_request(clip, duration_s=0.3)
    seen_at: list[float] = []
    lines_at_start: list[str] = []

    def started(at: float) -> None:
        seen_at.append(at)
        lines_at_start.extend((tmp_path / "out" / "plays.jsonl").read_text().splitlines())
        # Whoever reads the line may open the audio at once: it must already be there.
        assert (tmp_path / "out" / json.loads(lines_at_start[0])["file"]).exists()

    before = time.time()
    sink.play(request, started, threading.Event())
    elapsed = time.time() - before
    assert 0.3 <= elapsed < 0.6  # busy for the clip's duration, like a speaker
    record = json.loads(lines_at_start[0])
    assert record["started_at"] == seen_at[0]
    assert before <= record["started_at"] <= before + 0.05
    assert record | {"started_at": 0} == {
        "command_id": "cmd-7",
        "device_id": "loa-01",
        "clip_sha256": request.command.clip.sha256,
        "started_at": 0,
        "start_at": request.command.start_at,
        "duration_s": 0.3,
        "priority": "priority",
        "title": "Lịch tiêm phòng",
        "file": request.command.clip.sha256 + ".mp3",
    }
    assert (tmp_path / "out" / record["file"]).read_bytes() == b"ID3 fake audio"


def test_file_sink_prepare_keeps_audio_without_recording_a_play(tmp_path: Path) -> None:
    clip = tmp_path / "clip"
    clip.write_bytes(b"audio")
    sink = FileSink(tmp_path / "out")
    request = play_request(clip)
    sink.prepare(request)
    assert (tmp_path / "out" / f"{request.command.clip.sha256}.mp3").read_bytes() == b"audio"
    assert not sink.log_path.exists()


def test_file_sink_stops_early_and_appends(tmp_path: Path) -> None:
    clip = tmp_path / "clip"
    clip.write_bytes(b"x")
    sink = FileSink(tmp_path / "out")
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    before = time.time()
    sink.play(play_request(clip, duration_s=30, url_name="noext"), lambda at: None, stop)
    assert time.time() - before < 1
    sink.play(play_request(clip, duration_s=0), lambda at: None, threading.Event())
    lines = (tmp_path / "out" / "plays.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["file"] == json.loads(lines[1])["file"].removesuffix(".mp3")


def test_alsa_commands() -> None:
    assert decode_command("/usr/bin/ffmpeg", Path("/c/x")) == [
        "/usr/bin/ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "/c/x",
        "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", "22050", "-",
    ]  # fmt: skip
    assert aplay_command("aplay") == ["aplay", "-q", "-f", "S16_LE", "-r", "22050", "-c", "1"]
    assert aplay_command("aplay", "plughw:1,0")[-2:] == ["-D", "plughw:1,0"]


def test_missing_aplay_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OutputError, match="alsa-utils"):
        find_aplay()
    with pytest.raises(OutputError, match="alsa-utils"):
        parse_output("alsa")


def test_unknown_output_is_refused() -> None:
    with pytest.raises(OutputError, match="file:DIR or alsa"):
        parse_output("pulse")


def test_alsa_pipes_decoded_pcm_into_aplay(tmp_path: Path, mp3_clip: Path) -> None:
    aplay = _script(tmp_path, "aplay", f'echo "$@" > {tmp_path}/args; cat > {tmp_path}/pcm')
    output = AlsaOutput(aplay=str(aplay))
    starts: list[float] = []
    output.play(play_request(mp3_clip), starts.append, threading.Event())
    assert len(starts) == 1
    assert (tmp_path / "args").read_text().split() == ["-q", "-f", "S16_LE", "-r", "22050", "-c", "1"]
    pcm_bytes = (tmp_path / "pcm").stat().st_size
    assert abs(pcm_bytes - 2 * 22050 * 2) < 22050  # 2 s of 16-bit mono, give or take codec padding


def test_alsa_stop_ends_both_processes(tmp_path: Path, mp3_clip: Path) -> None:
    aplay = _script(tmp_path, "aplay", f"echo $$ > {tmp_path}/pid; exec sleep 30")
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    before = time.time()
    AlsaOutput(aplay=str(aplay)).play(play_request(mp3_clip), lambda at: None, stop)
    assert time.time() - before < 3
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_alsa_failure_reports_aplay_message(tmp_path: Path, mp3_clip: Path) -> None:
    aplay = _script(tmp_path, "aplay", 'echo "aplay: main:831: audio open error: No such device" >&2; exit 1')
    with pytest.raises(OutputError, match="No such device"):
        AlsaOutput(aplay=str(aplay)).play(play_request(mp3_clip), lambda at: None, threading.Event())
