"""Stream relay against a local real-time MP3 stream: start and stop on time, reconnect, refuse clearly."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from broadcast import protocol
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.control import stream_play
from edge_agent.outputs import Output, OutputError, PlayRequest
from edge_agent.outputs.alsa import AlsaOutput
from edge_agent.outputs.ffmpeg import encoder_command, source_command
from edge_agent.outputs.file import FileSink
from edge_agent.outputs.stream import PartialPlay, Warm
from tests.edge_agent.programme_station import next_seq
from tests.support.audio_stream import AudioStreamServer, make_stream_mp3
from tests.support.free_port import free_port

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SECONDS = 2.0
WARM_S = 1.0  # the playout opens a relay's stream up to 1.5 s ahead when the output is idle


@pytest.fixture(scope="module")
def radio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioStreamServer]:
    """Return a live stream that bursts 1 s on connect (as Icecast does) and drops /drop.mp3 after 0.8 s."""
    mp3 = make_stream_mp3(FFMPEG, tmp_path_factory.mktemp("radio") / "loop.mp3")
    server = AudioStreamServer(mp3, burst_s=1.0, drop_after_s=0.8)
    yield server
    server.close()


def _stream(url: str, start_in: float = 1.2, duration_s: float = SECONDS) -> protocol.StreamCommand:
    now = time.time()
    return protocol.StreamCommand(
        id="vov1-0530",
        seq=next_seq(),
        issued_at=now,
        expires_at=now + 60,
        start_at=now + start_in,
        priority="priority",
        zones=("thon-1",),
        url=url,
        duration_s=duration_s,
        title="Tiếp sóng VOV1",
    )


def _request(stream: protocol.StreamCommand) -> PlayRequest:
    return PlayRequest(stream_play(stream), Path("/dev/null"), "loa-01", stream)


def _relay_at_start(
    output: Output, stream: protocol.StreamCommand, warm: bool = True
) -> tuple[list[float], float]:
    """Prepare ahead and relay at start_at, as the playout does; return (started times, return time)."""
    request = _request(stream)
    if warm:
        time.sleep(max(0.0, stream.start_at - WARM_S - time.time()))
        output.prepare(request)
    time.sleep(max(0.0, stream.start_at - time.time()))
    starts: list[float] = []
    try:
        output.relay(request, starts.append, threading.Event())
    finally:
        output.finish(request)
    return starts, time.time()


def _decoded_seconds(path: Path) -> float:
    out = subprocess.run(
        [FFMPEG, "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, check=True
    )
    h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", out.stderr)[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_stream_command_lines() -> None:
    source = source_command("ffmpeg", "https://vov.example/vov1.mp3", 12.5)
    assert source[source.index("-i") + 1] == "https://vov.example/vov1.mp3"
    assert source[source.index("-t") + 1] == "12.500"
    assert source[-9:] == ["-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", "22050", "-"]
    assert "-rw_timeout" in source  # a stalled connection ends as a drop, not a hang
    encoder = encoder_command("ffmpeg", Path("/out/1-stream-x.mp3"))
    assert encoder[encoder.index("-i") + 1] == "-" and encoder[-1] == "/out/1-stream-x.mp3"
    stand_in = stream_play(_stream("https://vov.example/vov1.mp3"))
    assert stand_in.clip.sha256 == hashlib.sha256(b"https://vov.example/vov1.mp3").hexdigest()
    assert (stand_in.id, stand_in.priority, stand_in.clip.duration_s) == ("vov1-0530", "priority", SECONDS)


def test_file_sink_records_the_stream_from_start_at_for_its_duration(
    radio: AudioStreamServer, tmp_path: Path
) -> None:
    sink = FileSink(tmp_path / "out", ffmpeg=FFMPEG)
    stream = _stream(f"{radio.url}/live.mp3")
    starts, returned = _relay_at_start(sink, stream)
    (record,) = [json.loads(line) for line in sink.log_path.read_text().splitlines()]
    assert record["kind"] == "stream" and record["url"] == stream.url
    assert (record["command_id"], record["duration_s"], record["priority"]) == (
        "vov1-0530",
        SECONDS,
        "priority",
    )
    assert starts == [record["started_at"]]
    assert 0 <= record["started_at"] - stream.start_at < 0.1  # the first audio, not just the launch
    assert abs(returned - (stream.start_at + SECONDS)) < 0.5
    assert record["file"] == f"{int(stream.start_at)}-stream-vov1-0530.mp3"
    assert _decoded_seconds(tmp_path / "out" / record["file"]) == pytest.approx(SECONDS, abs=0.15)


def test_a_dropped_stream_is_reconnected_within_the_slot(radio: AudioStreamServer, tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out", ffmpeg=FFMPEG)
    before = radio.connections
    stream = _stream(f"{radio.url}/drop.mp3")
    _, returned = _relay_at_start(sink, stream, warm=False)  # opened at start_at: the cold path
    assert radio.connections - before == 2  # dropped once, reconnected once
    assert abs(returned - (stream.start_at + SECONDS)) < 0.5
    (record,) = [json.loads(line) for line in sink.log_path.read_text().splitlines()]
    assert _decoded_seconds(tmp_path / "out" / record["file"]) == pytest.approx(SECONDS, abs=0.3)


def test_a_stream_gone_for_good_is_reported_as_partly_played(
    radio: AudioStreamServer, tmp_path: Path
) -> None:
    sink = FileSink(tmp_path / "out", ffmpeg=FFMPEG)
    stream = _stream(f"{radio.url}/gone.mp3", duration_s=3.0)
    with pytest.raises(PartialPlay, match=r"stream dropped 1 time\(s\): relayed 1\.\d of 3 s .*404"):
        _relay_at_start(sink, stream)
    assert abs(time.time() - (stream.start_at + 3.0)) < 0.5  # it kept trying until the slot ended
    (record,) = [json.loads(line) for line in sink.log_path.read_text().splitlines()]
    assert 1.5 < _decoded_seconds(tmp_path / "out" / record["file"]) < 2.2  # what was heard is kept


def test_a_stream_that_cannot_be_opened_is_refused_with_the_reason(
    radio: AudioStreamServer, tmp_path: Path
) -> None:
    sink = FileSink(tmp_path / "out", ffmpeg=FFMPEG)
    with pytest.raises(OutputError, match=r"cannot open stream .*404 Not Found"):
        _relay_at_start(sink, _stream(f"{radio.url}/nosuch.mp3", start_in=0.0, duration_s=30.0))
    assert not sink.log_path.exists()
    assert list((tmp_path / "out").glob("*.mp3")) == []


def test_a_stream_opened_ahead_but_not_relayed_is_closed(radio: AudioStreamServer) -> None:
    warm, stream = Warm(), _stream(f"{radio.url}/live.mp3")
    warm.open(FFMPEG, stream)
    warm.open(FFMPEG, stream)  # opened again (a re-pick): the first one is closed, not leaked
    source = warm.take(stream.id)
    assert source is not None and source.process.poll() is None
    warm.open(FFMPEG, stream)
    warm.close(stream.id)  # what the playout's finish() does after an interrupt
    assert warm.take(stream.id) is None
    source.close()
    assert source.process.poll() is not None


# A stand-in aplay that plays in real time: it reads s16le mono 22050 Hz at most 0.5 s ahead (its
# device buffer), drains that buffer at end of input, and keeps what it "played" in a file.
FAKE_APLAY = """#!{python}
import sys, time
open("{out}/args", "w").write(" ".join(sys.argv[1:]))
played, start, count = open("{out}/pcm", "wb"), time.monotonic(), 0
while chunk := sys.stdin.buffer.read1(4096):
    played.write(chunk)
    count += len(chunk)
    ahead = count / 44100 - (time.monotonic() - start)
    time.sleep(max(0.0, ahead - 0.5))
played.close()
time.sleep(max(0.0, count / 44100 - (time.monotonic() - start)))
"""


def test_alsa_relay_feeds_one_aplay_and_cuts_it_off_on_time(radio: AudioStreamServer, tmp_path: Path) -> None:
    aplay = tmp_path / "aplay"
    aplay.write_text(FAKE_APLAY.format(python=sys.executable, out=tmp_path))
    aplay.chmod(aplay.stat().st_mode | stat.S_IXUSR)
    output = AlsaOutput(ffmpeg=FFMPEG, aplay=str(aplay))
    stream = _stream(f"{radio.url}/live.mp3")
    starts, returned = _relay_at_start(output, stream)
    assert len(starts) == 1 and 0 <= starts[0] - stream.start_at < 0.1
    assert abs(returned - (stream.start_at + SECONDS)) < 0.5
    assert (tmp_path / "args").read_text().split() == ["-q", "-f", "S16_LE", "-r", "22050", "-c", "1"]
    pcm_seconds = (tmp_path / "pcm").stat().st_size / (22050 * 2)
    assert pcm_seconds == pytest.approx(SECONDS, abs=0.1)  # never more than the slot


@pytest.fixture
def agent(agent_config: AgentConfig, tmp_path: Path) -> Iterator[Agent]:
    config = dataclasses.replace(agent_config, mqtt_port=free_port(), ffmpeg=FFMPEG)
    agent = Agent(config, FileSink(tmp_path / "plays", ffmpeg=FFMPEG))
    agent.start()
    yield agent
    agent.stop()


def test_agent_relays_a_signed_stream_and_reports_it(
    agent: Agent, radio: AudioStreamServer, station_key: tuple[bytes, str]
) -> None:
    good, bad = _stream(f"{radio.url}/live.mp3", start_in=0.5), _stream(f"{radio.url}/nosuch.mp3", 0.3)
    bad = dataclasses.replace(bad, id="bad-stream", start_at=good.start_at + SECONDS + 0.2)
    for stream in (good, bad):
        agent.handle(protocol.sign_body(stream.to_body(), station_key[0]))
    deadline = time.time() + 10
    while len(agent.outbox.pending()) < 2:
        assert time.time() < deadline, agent.outbox.pending()
        time.sleep(0.05)
    play, rejected = (json.loads(payload) for _, payload in agent.outbox.pending())
    assert (play["type"], play["command_id"], play["duration_s"]) == ("play", good.id, SECONDS)
    assert play["clip_sha256"] == hashlib.sha256(good.url.encode()).hexdigest()
    assert 0 <= play["started_at"] - good.start_at < 0.1
    assert (rejected["type"], rejected["command_id"]) == ("rejected", "bad-stream")
    assert "cannot open stream" in rejected["reason"] and "404" in rejected["reason"]
