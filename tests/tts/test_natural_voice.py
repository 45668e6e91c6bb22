"""The best voice the machine can have: quickstart installs the recommended Vietnamese Piper voice from the
mirror (here a local one serving a real Piper model) and it becomes the station's default; without a
mirror, out of time, out of disk or told to skip, the station keeps espeak-ng and says how to get the voice.
Nothing here reaches the internet."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from broadcast.cli import quickstart
from broadcast.clipstore.rendering import render_bulletin, render_options
from broadcast.config import Settings
from broadcast.tts.voices import RECOMMENDED_VOICE, list_voices, mirror_path, natural_voice, voice_names
from tests.support.piper_voice import JOE, joe_dir, serve_directory

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there
NOTE = f"chạy «broadcast voices install {RECOMMENDED_VOICE}»"


@pytest.fixture(autouse=True)
def _no_operator_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "BROADCAST_TTS_ENGINE",
        "BROADCAST_TTS_VOICE",
        "BROADCAST_DATA_DIR",
        quickstart.SKIP_VOICE_ENV,
    ):
        monkeypatch.delenv(name, raising=False)


def _vietnamese_config(path: Path) -> dict[str, Any]:
    """Return the Piper config at ``path`` as a Vietnamese voice's (what the real vi_VN configs say)."""
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    config["language"] = {**config.get("language", {}), "code": "vi_VN"}
    config["espeak"] = {"voice": "vi"}
    return config


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    """Serve a copy of Piper's voice repository layout holding the joe model as the recommended voice."""
    model = tmp_path / "mirror" / mirror_path(RECOMMENDED_VOICE)
    model.parent.mkdir(parents=True)
    model.symlink_to(joe_dir() / f"{JOE}.onnx")
    config = _vietnamese_config(joe_dir() / f"{JOE}.onnx.json")
    model.with_name(model.name + ".json").write_text(json.dumps(config), encoding="utf-8")
    with serve_directory(tmp_path / "mirror") as url:
        yield url


def _fake_voice(voices_dir: Path, name: str, *, language: str = "vi_VN", espeak: str = "vi") -> None:
    """Put a voice's two files in place (not loadable; enough for choosing a default)."""
    voices_dir.mkdir(parents=True, exist_ok=True)
    (voices_dir / f"{name}.onnx").write_bytes(b"\x08\x07model")
    config = {
        "audio": {"sample_rate": 22050},
        "espeak": {"voice": espeak},
        "language": {"code": language},
        "num_symbols": 1,
        "num_speakers": 1,
        "phoneme_id_map": {},
    }
    (voices_dir / f"{name}.onnx.json").write_text(json.dumps(config), encoding="utf-8")


def _files(voices_dir: Path) -> list[str]:
    return sorted(path.name for path in voices_dir.iterdir()) if voices_dir.exists() else []


def test_quickstart_installs_the_voice_from_the_mirror_and_reads_with_it(
    tmp_path: Path, mirror: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, voices_mirror=mirror)
    assert (settings.tts_engine, settings.tts_voice) == ("espeak", "vi")

    served = quickstart.install_natural_voice(settings)

    out = capfd.readouterr().out
    assert f"Từ nay trạm đọc bản tin bằng giọng tự nhiên {RECOMMENDED_VOICE} (Piper)." in out
    assert (served.tts_engine, served.tts_voice) == ("piper", "")
    installed = list_voices(data_dir / "voices")
    assert [(voice.name, voice.language, voice.vietnamese) for voice in installed] == [
        (RECOMMENDED_VOICE, "vi_VN", True)
    ]
    assert installed[0].size == (joe_dir() / f"{JOE}.onnx").stat().st_size
    # The next start (settings from the environment, as `broadcast serve` reads them) keeps the voice,
    # and downloads nothing again.
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BROADCAST_VOICES_MIRROR", UNREACHABLE)
    again = Settings()
    assert (again.tts_engine, again.tts_voice) == ("piper", "")
    assert quickstart.install_natural_voice(again) is again
    assert capfd.readouterr().out == ""
    options = replace(render_options(again.speech), cache_dir=None)  # the suite's shared cache stays out
    rendered = render_bulletin("Xin chào bà con.", options)
    assert (rendered.engine, rendered.voice) == ("piper", RECOMMENDED_VOICE)
    assert rendered.clip.duration_s > 0.5


def test_without_the_mirror_espeak_stays_and_the_officer_is_told_how(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, voices_mirror=UNREACHABLE)

    served = quickstart.install_natural_voice(settings)

    captured = capfd.readouterr()
    assert served is settings
    assert (served.tts_engine, served.tts_voice) == ("espeak", "vi")
    assert "Không cài được giọng đọc tự nhiên" in captured.out
    assert "đọc bản tin bằng espeak-ng (giọng máy)" in captured.out
    assert NOTE in captured.out
    assert "Không kết nối được tới 127.0.0.1:9" in captured.err  # the install's own reason, shown as is
    assert _files(data_dir / "voices") == []  # nothing half-installed
    assert Settings(data_dir=data_dir).tts_engine == "espeak"


@pytest.fixture
def stalled_mirror() -> Iterator[str]:
    """A mirror that starts sending a model, then goes silent (a 3G link dropping to nothing)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 60000000\r\n\r\n\x08" + b"\x00" * 4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_a_stalled_download_is_given_up_in_time_and_leaves_nothing(
    tmp_path: Path, stalled_mirror: str, capfd: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, voices_mirror=stalled_mirror, tts_timeout_s=60)
    started = time.monotonic()

    served = quickstart.install_natural_voice(settings, budget_s=5)

    assert time.monotonic() - started < 5 + 5 + 3  # the budget, the grace to stop, process start-up
    out = capfd.readouterr().out
    assert served.tts_engine == "espeak"
    assert "Không cài được giọng đọc tự nhiên: quá 5 giây" in out
    assert NOTE in out
    assert _files(data_dir / "voices") == []  # the partial model was deleted


def test_skipping_never_starts_a_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(quickstart.SKIP_VOICE_ENV, "1")
    monkeypatch.setattr("subprocess.Popen", _no_process)
    settings = Settings(data_dir=tmp_path / "var", voices_mirror=UNREACHABLE)

    assert quickstart.install_natural_voice(settings) is settings

    out = capsys.readouterr().out
    assert f"Bỏ qua cài giọng đọc tự nhiên ({quickstart.SKIP_VOICE_ENV})" in out
    assert NOTE in out


def test_a_nearly_full_disk_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("subprocess.Popen", _no_process)
    monkeypatch.setattr("shutil.disk_usage", lambda _: _Usage(free=100 * 2**20))
    settings = Settings(data_dir=tmp_path / "var", voices_mirror=UNREACHABLE)

    assert quickstart.install_natural_voice(settings) is settings

    out = capsys.readouterr().out
    assert "ổ đĩa chỉ còn 100 MB trống, cần 256 MB" in out
    assert NOTE in out


def test_an_engine_the_operator_chose_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("subprocess.Popen", _no_process)
    monkeypatch.setenv("BROADCAST_TTS_ENGINE", "espeak")
    settings = Settings(data_dir=tmp_path / "var")
    assert quickstart.install_natural_voice(settings) is settings
    assert capsys.readouterr().out == ""


def test_an_installed_vietnamese_voice_is_the_default_unless_the_operator_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "var"
    voices = data_dir / "voices"
    _fake_voice(voices, "en_US-joe-medium", language="en_US", espeak="en-us")
    assert (Settings(data_dir=data_dir).tts_engine, Settings(data_dir=data_dir).tts_voice) == ("espeak", "vi")
    _fake_voice(voices, "vi_VN-25hours_single-low")
    _fake_voice(voices, RECOMMENDED_VOICE)
    assert natural_voice(voices) == RECOMMENDED_VOICE  # before voices sorting earlier by name
    assert voice_names(voices) == [RECOMMENDED_VOICE, "vi_VN-25hours_single-low", "en_US-joe-medium"]
    chosen = Settings(data_dir=data_dir)
    assert (chosen.tts_engine, chosen.tts_voice) == ("piper", "")
    assert chosen.speech.tts_engine == "piper"
    monkeypatch.setenv("BROADCAST_TTS_ENGINE", "espeak")
    assert (Settings(data_dir=data_dir).tts_engine, Settings(data_dir=data_dir).tts_voice) == ("espeak", "vi")
    monkeypatch.delenv("BROADCAST_TTS_ENGINE")
    monkeypatch.setenv("BROADCAST_TTS_VOICE", "vi+f3")
    assert (Settings(data_dir=data_dir).tts_engine, Settings(data_dir=data_dir).tts_voice) == (
        "espeak",
        "vi+f3",
    )


class _Usage:
    def __init__(self, free: int) -> None:
        self.free = free


def _no_process(*args: object, **kwargs: object) -> None:
    raise AssertionError("no download may start here")
