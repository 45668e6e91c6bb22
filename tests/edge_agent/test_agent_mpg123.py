"""Clips decoded by the real mpg123 as ffmpeg decodes them; ffmpeg needed only for stream relays."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from broadcast import protocol
from edge_agent.control import stream_play
from edge_agent.outputs import OutputError, PlayRequest
from edge_agent.outputs.alsa import AlsaOutput, aplay_file_command, is_wav
from edge_agent.outputs.ffmpeg import BYTES_PER_S
from edge_agent.outputs.ffmpeg import decode_command as ffmpeg_decode
from edge_agent.outputs.mpg123 import decode_command, find_mpg123, is_mpeg_audio
from edge_agent.tone import sine_wav
from tests.edge_agent.test_agent_outputs import play_request

pytestmark = pytest.mark.integration  # real mpg123 and ffmpeg processes

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def require_mpg123() -> str:
    """Return mpg123, or skip (under CI=true the skip fails: tests/conftest.py)."""
    found = find_mpg123()
    if found is None:
        pytest.skip("mpg123 not installed (apt-get install mpg123)")
    return found


def _encode(path: Path, source: str, *extra: str) -> Path:
    command = [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *extra, str(path)]
    subprocess.run(command, check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real MP3s: a station clip (mono 22.05 kHz, 48 kbit/s CBR) and a stereo 44.1 kHz file to resample."""
    directory = tmp_path_factory.mktemp("clips")
    mono = "sine=frequency=440:duration=2.5:sample_rate=22050"
    stereo = "sine=frequency=440:duration=3:sample_rate=44100"
    return {
        "station": _encode(directory / "station.mp3", mono, "-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k"),
        "stereo": _encode(directory / "stereo.mp3", stereo, "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"),
    }


def _pcm(command: list[str]) -> np.ndarray:
    out = subprocess.run(command, check=True, capture_output=True, timeout=60).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float64)


@pytest.mark.parametrize("name", ["station", "stereo"])
def test_mpg123_gives_the_pcm_ffmpeg_gives(clips: dict[str, Path], name: str) -> None:
    mpg123 = require_mpg123()
    ours = _pcm(decode_command(mpg123, clips[name]))
    theirs = _pcm(ffmpeg_decode(FFMPEG, clips[name]))
    assert len(ours) == len(theirs)  # same sample count: both drop the encoder's delay and padding
    assert abs(len(ours) * 2 / BYTES_PER_S - (2.5 if name == "station" else 3.0)) < 0.01
    correlation = float(np.corrcoef(ours, theirs)[0, 1])
    level = float(np.sqrt(np.mean(ours**2)) / np.sqrt(np.mean(theirs**2)))
    if name == "station":  # no resampling: the same samples to the last bit or so
        assert float(np.max(np.abs(ours - theirs))) <= 2
    assert correlation > 0.99 and abs(level - 1) < 0.02, (correlation, level)


def test_only_mp3_goes_to_mpg123(clips: dict[str, Path], tmp_path: Path) -> None:
    wav = sine_wav(440, 0.1)
    assert is_mpeg_audio(clips["station"].read_bytes()[:12])  # ID3 tag first
    assert is_mpeg_audio(bytes([0xFF, 0xFB, 0x50, 0xC4]))  # a bare MPEG-1 layer III frame
    assert not is_mpeg_audio(wav[:12]) and is_wav(wav[:12])
    assert not is_mpeg_audio(b"") and not is_mpeg_audio(b"\xff\xea")  # reserved version
    assert decode_command("/usr/bin/mpg123", Path("/c/x")) == [
        "/usr/bin/mpg123", "-q", "--no-control", "-m", "-r", "22050", "-e", "s16", "-s", "/c/x",
    ]  # fmt: skip
    assert aplay_file_command("aplay", Path("/c/t.wav"), "plughw:1,0") == [
        "aplay", "-q", "-D", "plughw:1,0", "/c/t.wav",
    ]  # fmt: skip


def _script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with aplay (a stand-in that keeps what it plays) and mpg123, and no ffmpeg at all."""
    mpg123 = require_mpg123()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in (mpg123, shutil.which("cat")):
        assert tool is not None
        (bin_dir / Path(tool).name).symlink_to(tool)
    _script(bin_dir, "aplay", f'echo "$@" > {tmp_path}/args; cat > {tmp_path}/pcm')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # the wheel's fallback is gone too
    return tmp_path


def test_without_ffmpeg_clips_play_through_mpg123(no_ffmpeg: Path, clips: dict[str, Path]) -> None:
    output = AlsaOutput()
    starts: list[float] = []
    output.play(play_request(clips["station"], duration_s=2.5), starts.append, threading.Event())
    assert len(starts) == 1
    played = (no_ffmpeg / "pcm").read_bytes()
    assert played == subprocess.run(decode_command("mpg123", clips["station"]), capture_output=True).stdout
    assert len(played) == round(2.5 * BYTES_PER_S)


def test_without_ffmpeg_a_relay_is_refused_with_the_reason(no_ffmpeg: Path) -> None:
    now = time.time()
    stream = protocol.StreamCommand(
        id="vov1-0530",
        seq=3,
        issued_at=now,
        expires_at=now + 60,
        start_at=now,
        priority="priority",
        zones=("thon-1",),
        url="http://127.0.0.1:9/vov1.mp3",
        duration_s=2.0,
        title="Tiếp sóng VOV1",
    )
    request = PlayRequest(stream_play(stream), Path("/dev/null"), "loa-01", stream)
    output = AlsaOutput()
    for step in (output.prepare, lambda r: output.relay(r, lambda at: None, threading.Event())):
        with pytest.raises(OutputError, match="cannot relay streams: it has no ffmpeg") as refused:
            step(request)
        assert "apt install ffmpeg" in str(refused.value)
    assert not (no_ffmpeg / "args").exists()  # aplay never opened the device for it


def test_the_test_tone_wav_goes_to_aplay_as_it_is(no_ffmpeg: Path) -> None:
    tone = no_ffmpeg / "tone.wav"
    tone.write_bytes(sine_wav(1000, 0.2))
    AlsaOutput().play(play_request(tone, duration_s=2.5), lambda at: None, threading.Event())
    assert (no_ffmpeg / "args").read_text().split() == ["-q", str(tone)]


def test_without_mpg123_ffmpeg_decodes_clips(tmp_path: Path, clips: dict[str, Path]) -> None:
    aplay = _script(tmp_path, "aplay", f"cat > {tmp_path}/pcm")
    output = AlsaOutput(aplay=str(aplay), mpg123=str(tmp_path / "no-mpg123"))
    assert output.mpg123 is None
    output.play(play_request(clips["station"], duration_s=2.5), lambda at: None, threading.Event())
    played = (tmp_path / "pcm").read_bytes()
    assert played == subprocess.run(ffmpeg_decode(FFMPEG, clips["station"]), capture_output=True).stdout


def test_with_neither_decoder_the_output_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(tmp_path, "aplay", "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    assert shutil.which("mpg123") is None
    with pytest.raises(OutputError, match="no clip decoder: install mpg123"):
        AlsaOutput()
