"""Volume through a recording stand-in `amixer` on PATH, the test tone, and both through a real Agent."""

from __future__ import annotations

import dataclasses
import io
import json
import stat
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from broadcast import protocol
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.control import VolumeKeeper
from edge_agent.gpio.relay import GpioRelay
from edge_agent.mixer import Mixer, MixerError
from edge_agent.outputs.file import FileSink
from edge_agent.tone import SAMPLE_RATE, ensure_tone, sine_wav
from tests.edge_agent.programme_station import next_seq
from tests.support.free_port import free_port

# Records each call as one line of tab-separated arguments; answers `sget` like the Pi's headphone jack.
FAKE_AMIXER = """#!/bin/sh
printf '%s\\t' "$@" >> "{log}"
echo >> "{log}"
case "$*" in
  *nosuch*) echo "amixer: Unable to find simple control 'nosuch',0" >&2; exit 1 ;;
  *sget*) echo "Simple mixer control 'PCM',0"; echo "  Mono: Playback -1000 [63%] [-10.00dB] [on]" ;;
esac
"""


@pytest.fixture
def amixer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[list[str]]]:
    """Put a recording amixer first on PATH; return calls() -> the argument lists it received."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "amixer.log"
    script = bin_dir / "amixer"
    script.write_text(FAKE_AMIXER.format(log=log))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")

    def calls() -> list[list[str]]:
        text = log.read_text() if log.exists() else ""
        return [line.rstrip("\t").split("\t") for line in text.splitlines()]

    return calls


def test_set_volume_runs_amixer_sset_on_the_configured_control(amixer: Callable[[], list[list[str]]]) -> None:
    Mixer().set_volume(75)
    Mixer(control="Headphone", card="Headphones").set_volume(0)
    assert amixer() == [
        ["-M", "-q", "sset", "PCM", "75%", "unmute"],
        ["-c", "Headphones", "-M", "-q", "sset", "Headphone", "0%", "mute"],
    ]


def test_get_volume_parses_amixer_sget(amixer: Callable[[], list[list[str]]]) -> None:
    assert Mixer(card="1").get_volume() == 63
    assert amixer() == [["-c", "1", "-M", "sget", "PCM"]]


def test_mixer_errors_are_clear(
    amixer: Callable[[], list[list[str]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(MixerError, match="Unable to find simple control"):
        Mixer(control="nosuch").set_volume(10)
    with pytest.raises(ValueError, match="0-100"):
        Mixer().set_volume(101)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MixerError, match="alsa-utils"):
        Mixer().set_volume(10)


def test_volume_is_remembered_and_restored_after_a_restart(
    amixer: Callable[[], list[list[str]]], tmp_path: Path
) -> None:
    path = tmp_path / "state" / "volume.json"
    keeper = VolumeKeeper(Mixer(), path)
    assert keeper.current() == 63  # nothing set yet: what the mixer says
    keeper.apply(40)
    assert json.loads(path.read_text()) == {"level": 40}
    VolumeKeeper(Mixer(), path).restore()  # after a power cut ALSA may come back with an old level
    assert amixer()[-1] == ["-M", "-q", "sset", "PCM", "40%", "unmute"]
    path.write_text("{torn")
    assert VolumeKeeper(Mixer(), path).level is None


def test_sine_wav_is_a_faded_mono_tone() -> None:
    data = sine_wav(1000, 0.5)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE)
        frames = wav.readframes(wav.getnframes())
    samples = [int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
    assert len(samples) == SAMPLE_RATE // 2
    assert samples[0] == 0 and samples[-1] == 0  # faded: no click at either end
    assert 16_000 < max(samples) <= 16_384  # -6 dBFS


def test_tone_file_is_written_once_and_repaired(tmp_path: Path) -> None:
    path, clip = ensure_tone(tmp_path, 440, 1.0)
    assert clip.url == path.as_uri() and clip.size == path.stat().st_size and clip.duration_s == 1.0
    path.write_bytes(b"torn")  # power cut mid-write cannot happen (atomic), a bad SD card can
    assert ensure_tone(tmp_path, 440, 1.0) == (path, clip)
    assert path.stat().st_size == clip.size


@pytest.fixture
def running(
    agent_config: AgentConfig, tmp_path: Path, amixer: Callable[[], list[list[str]]]
) -> Iterator[tuple[Agent, Any, FileSink]]:
    """Return a started Agent (no broker reachable) with a mock-pin relay, the fake amixer and a file sink."""
    factory = MockFactory()
    config = dataclasses.replace(agent_config, mqtt_port=free_port(), relay_pre_roll_s=0.4, relay_hold_s=0.3)
    sink = FileSink(tmp_path / "plays")
    agent = Agent(config, sink, relay=GpioRelay(17, pin_factory=factory))
    agent.start()
    pin = factory.pin(17)
    pin.clear_states()
    yield agent, pin, sink
    agent.stop()


def _signed(key: bytes, command: protocol.VolumeCommand | protocol.TestToneCommand) -> bytes:
    return protocol.sign_body(command.to_body(), key)


def test_agent_applies_a_signed_volume_command(
    running: tuple[Agent, Any, FileSink],
    station_key: tuple[bytes, str],
    amixer: Callable[[], list[list[str]]],
) -> None:
    agent, _, _ = running
    now = time.time()
    command = protocol.VolumeCommand("vol-1", next_seq(), now, now + 60, ("thon-2",), 35)
    agent.handle(_signed(station_key[0], command))
    agent.handle(_signed(station_key[0], command))  # a redelivery changes nothing
    other_zone = dataclasses.replace(command, id="vol-2", zones=("thon-9",), level=90)
    agent.handle(_signed(station_key[0], other_zone))
    assert [call for call in amixer() if "sset" in call] == [["-M", "-q", "sset", "PCM", "35%", "unmute"]]
    assert agent.volume.current() == 35


def test_agent_plays_a_test_tone_on_time_with_the_relay_pre_rolled(
    running: tuple[Agent, Any, FileSink], station_key: tuple[bytes, str]
) -> None:
    agent, pin, sink = running
    t0 = time.time()
    command = protocol.TestToneCommand("tone-1", next_seq(), t0, t0 + 30, t0 + 0.8, ("thon-1",), 0.3, 1000.0)
    agent.handle(_signed(station_key[0], command))
    deadline = time.time() + 5
    while pin.states[-1].state or len(pin.states) < 3:
        assert time.time() < deadline, pin.states
        time.sleep(0.05)
    (play,) = [json.loads(line) for line in sink.log_path.read_text().splitlines()]
    assert play["command_id"] == "tone-1" and play["file"].endswith(".wav")
    assert abs(play["started_at"] - command.start_at) < 0.02  # the relay's pre-roll does not move the start
    on_after, off_after = pin.states[1].timestamp, pin.states[2].timestamp
    # Deltas between changes: on 0.4 s before start_at, then off 0.3 s after the 0.3 s tone ends.
    assert on_after == pytest.approx(0.8 - 0.4, abs=0.05)
    assert off_after == pytest.approx(0.4 + 0.3 + 0.3, abs=0.05)
    assert agent.pending.load() == []
