"""Installing and listing Piper voices (HTTP, USB copy, mirror), the `voices` CLI, Piper engine errors."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast.cli.voices import register
from broadcast.config import Settings
from broadcast.tts import EngineConfig, TtsUnavailable
from broadcast.tts.engines.piper import PiperEngine
from broadcast.tts.voices import (
    VoiceInstallError,
    install_voice,
    list_voices,
    mirror_path,
    voice_config,
    voice_names,
)
from tests.support.piper_voice import JOE, link_joe, serve_directory

VI = "vi_VN-test-medium"
MODEL = b"\x08\x07" + bytes(range(256)) * 8  # starts like an ONNX ModelProto; not a loadable model
MODEL_SHA = hashlib.sha256(MODEL).hexdigest()
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


def _config(language: str = "vi_VN", espeak: str = "vi") -> dict[str, object]:
    return {
        "audio": {"sample_rate": 22050, "quality": "medium"},
        "espeak": {"voice": espeak},
        "language": {"code": language},
        "num_symbols": 4,
        "num_speakers": 1,
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3]},
    }


def _write_voice(directory: Path, name: str, *, language: str = "vi_VN", espeak: str = "vi") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.onnx").write_bytes(MODEL)
    (directory / f"{name}.onnx.json").write_text(json.dumps(_config(language, espeak)), encoding="utf-8")
    return directory


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    return _write_voice(tmp_path / "usb", VI)


@pytest.fixture
def server(usb: Path) -> Iterator[str]:
    with serve_directory(usb) as url:
        yield url


def _files(voices_dir: Path) -> list[str]:
    return sorted(path.name for path in voices_dir.iterdir()) if voices_dir.exists() else []


def test_install_from_http_checks_and_records_the_voice(tmp_path: Path, server: str) -> None:
    voices_dir = tmp_path / "voices"
    seen: list[tuple[int, int | None]] = []
    voice = install_voice(
        VI,
        voices_dir=voices_dir,
        mirror=UNREACHABLE,
        source=server,
        sha256=MODEL_SHA.upper(),
        timeout_s=5,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (voice.name, voice.language, voice.sample_rate, voice.size) == (VI, "vi_VN", 22050, len(MODEL))
    assert voice.sha256 == MODEL_SHA
    assert seen[-1] == (len(MODEL), len(MODEL))
    assert _files(voices_dir) == [f"{VI}.install.json", f"{VI}.onnx", f"{VI}.onnx.json"]
    assert (voices_dir / f"{VI}.onnx").read_bytes() == MODEL
    assert oct((voices_dir / f"{VI}.onnx").stat().st_mode & 0o777) == oct(0o644)
    assert list_voices(voices_dir) == [voice]


def test_a_url_may_name_the_model_file_itself(tmp_path: Path, server: str) -> None:
    voice = install_voice(
        "vi_VN-other-low", voices_dir=tmp_path / "v", mirror=UNREACHABLE, source=f"{server}/{VI}.onnx"
    )
    assert voice.name == "vi_VN-other-low"
    assert voice.sha256 == MODEL_SHA


@pytest.mark.parametrize("where", ["folder", "model file", "repository copy"])
def test_install_from_a_local_copy(tmp_path: Path, usb: Path, where: str) -> None:
    if where == "repository copy":  # the USB stick holds the voice repository's own layout
        source = tmp_path / "repo"
        _write_voice(source / "vi/vi_VN/test/medium", VI)
    else:
        source = usb if where == "folder" else usb / f"{VI}.onnx"
    voice = install_voice(VI, voices_dir=tmp_path / "voices", mirror=UNREACHABLE, source=str(source))
    assert voice.sha256 == MODEL_SHA
    assert voice_names(tmp_path / "voices") == [VI]


def test_without_source_the_mirror_layout_is_used(tmp_path: Path) -> None:
    mirror = _write_voice(tmp_path / "mirror" / "vi/vi_VN/test/medium", VI).parents[3]
    with serve_directory(mirror) as url:
        voice = install_voice(VI, voices_dir=tmp_path / "voices", mirror=url + "/", timeout_s=5)
    assert voice.size == len(MODEL)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("vi_VN-vais1000-medium", "vi/vi_VN/vais1000/medium/vi_VN-vais1000-medium.onnx"),
        ("en_US-libritts_r-medium", "en/en_US/libritts_r/medium/en_US-libritts_r-medium.onnx"),
        ("en_US-joe-x_low", "en/en_US/joe/x_low/en_US-joe-x_low.onnx"),
    ],
)
def test_mirror_path_follows_the_piper_voice_repository(name: str, path: str) -> None:
    assert mirror_path(name) == path


@pytest.mark.parametrize("name", ["vais1000", "vi-vais1000-medium", "vi_VN-vais1000-best"])
def test_names_outside_the_repository_layout_need_a_source(name: str) -> None:
    with pytest.raises(VoiceInstallError, match="--from"):
        mirror_path(name)


def test_a_wrong_checksum_leaves_nothing_behind(tmp_path: Path, server: str) -> None:
    voices_dir = tmp_path / "voices"
    with pytest.raises(VoiceInstallError, match=r"sha256.*không khớp"):
        install_voice(VI, voices_dir=voices_dir, mirror=UNREACHABLE, source=server, sha256="0" * 64)
    assert _files(voices_dir) == []


def test_a_wrong_checksum_keeps_the_voice_already_installed(tmp_path: Path, server: str) -> None:
    voices_dir = tmp_path / "voices"
    before = install_voice(VI, voices_dir=voices_dir, mirror=UNREACHABLE, source=server)
    with pytest.raises(VoiceInstallError):
        install_voice(VI, voices_dir=voices_dir, mirror=UNREACHABLE, source=server, sha256="ab" * 32)
    assert list_voices(voices_dir) == [before]
    assert len(_files(voices_dir)) == 3


def test_missing_voice_on_the_server_is_a_clear_404(tmp_path: Path, server: str) -> None:
    with pytest.raises(VoiceInstallError, match="HTTP 404") as caught:
        install_voice("vi_VN-nothere-medium", voices_dir=tmp_path / "v", mirror=UNREACHABLE, source=server)
    assert "vi_VN-nothere-medium" in str(caught.value)
    assert _files(tmp_path / "v") == []


def test_a_silent_server_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(VoiceInstallError, match="Hết thời gian chờ"):
            install_voice(VI, voices_dir=tmp_path / "v", mirror=UNREACHABLE, source=url, timeout_s=0.3)
    assert _files(tmp_path / "v") == []


def test_no_network_suggests_a_usb_copy(tmp_path: Path) -> None:
    with pytest.raises(VoiceInstallError, match=r"Không kết nối được.*--from"):
        install_voice(VI, voices_dir=tmp_path / "v", mirror=UNREACHABLE, timeout_s=2)


def test_reinstall_is_idempotent_and_skips_the_download_when_the_checksum_matches(
    tmp_path: Path, usb: Path
) -> None:
    voices_dir = tmp_path / "voices"
    with serve_directory(usb) as url:
        first = install_voice(VI, voices_dir=voices_dir, mirror=UNREACHABLE, source=url)
        again = install_voice(VI, voices_dir=voices_dir, mirror=UNREACHABLE, source=url)
    assert again == first
    # The server is gone: a matching checksum means there is nothing to fetch.
    kept = install_voice(VI, voices_dir=voices_dir, mirror=UNREACHABLE, source=url, sha256=MODEL_SHA)
    assert kept == first
    assert len(_files(voices_dir)) == 3


@pytest.mark.parametrize(
    ("model", "config", "message"),
    [
        (b"", json.dumps(_config()), "rỗng"),
        (b"<!DOCTYPE html><html>portal</html>", json.dumps(_config()), "không phải mô hình ONNX"),
        (MODEL, "{not json", "không phải JSON"),
        (MODEL, json.dumps({"audio": {}}), "thiếu mục: num_symbols"),
    ],
)
def test_files_piper_could_not_load_are_refused(
    tmp_path: Path, model: bytes, config: str, message: str
) -> None:
    source = tmp_path / "bad"
    source.mkdir()
    (source / f"{VI}.onnx").write_bytes(model)
    (source / f"{VI}.onnx.json").write_text(config, encoding="utf-8")
    with pytest.raises(VoiceInstallError, match=message):
        install_voice(VI, voices_dir=tmp_path / "voices", mirror=UNREACHABLE, source=str(source))
    assert _files(tmp_path / "voices") == []


def test_missing_files_in_a_local_copy_are_named(tmp_path: Path, usb: Path) -> None:
    with pytest.raises(VoiceInstallError, match=r"Không thấy tệp vi_VN-other-low\.onnx"):
        install_voice("vi_VN-other-low", voices_dir=tmp_path / "v", mirror=UNREACHABLE, source=str(usb))
    (usb / f"{VI}.onnx.json").unlink()
    with pytest.raises(VoiceInstallError, match="Thiếu tệp cấu hình"):
        install_voice(VI, voices_dir=tmp_path / "v", mirror=UNREACHABLE, source=str(usb))
    with pytest.raises(VoiceInstallError, match="Không thấy"):
        install_voice(VI, voices_dir=tmp_path / "v", mirror=UNREACHABLE, source=str(tmp_path / "nowhere"))


@pytest.mark.parametrize(
    ("name", "sha256"), [("../evil", None), ("a/b", None), (".hidden", None), (VI, "abc"), (VI, "g" * 64)]
)
def test_bad_names_and_checksums_are_refused_before_anything_is_fetched(
    tmp_path: Path, name: str, sha256: str | None
) -> None:
    with pytest.raises(VoiceInstallError):
        install_voice(name, voices_dir=tmp_path / "v", mirror=UNREACHABLE, sha256=sha256)
    assert _files(tmp_path / "v") == []


def test_list_puts_vietnamese_first_and_applies_the_espeak_override(tmp_path: Path) -> None:
    voices_dir = _write_voice(tmp_path / "voices", "en_US-aaa-medium", language="en_US", espeak="en-us")
    _write_voice(voices_dir, "vi_VN-zzz-medium")
    (voices_dir / ".vi_VN-x-low.onnx.123.part").write_bytes(b"\x08")  # an unfinished install
    assert [voice.name for voice in list_voices(voices_dir)] == ["vi_VN-zzz-medium", "en_US-aaa-medium"]
    assert voice_names(voices_dir) == ["vi_VN-zzz-medium", "en_US-aaa-medium"]
    install_voice(
        "en_US-bbb-low",
        voices_dir=voices_dir,
        mirror=UNREACHABLE,
        source=str(voices_dir / "en_US-aaa-medium.onnx"),
        espeak_voice="vi",
    )
    assert voice_names(voices_dir)[:2] == ["en_US-bbb-low", "vi_VN-zzz-medium"]
    assert voice_config(voices_dir, "en_US-bbb-low")["espeak"]["voice"] == "vi"
    assert voice_config(voices_dir, "en_US-aaa-medium")["espeak"]["voice"] == "en-us"
    assert list_voices(tmp_path / "missing") == []


def _cli(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="broadcast")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args, settings))


def test_cli_installs_from_a_usb_copy_and_lists(
    tmp_path: Path, usb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    assert _cli(settings, "voices", "list") == 0
    assert "broadcast voices install vi_VN-vais1000-medium" in capsys.readouterr().out
    assert _cli(settings, "voices", "install", VI, "--from", str(usb), "--sha256", MODEL_SHA) == 0
    assert f"Đã cài giọng {VI}" in capsys.readouterr().out
    assert _cli(settings, "voices", "list") == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(VI) and "22050 Hz" in line and MODEL_SHA in line
    assert (tmp_path / "var" / "voices" / f"{VI}.onnx").is_file()


def test_cli_downloads_from_the_mirror_named_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = _write_voice(tmp_path / "mirror" / "vi/vi_VN/test/medium", VI).parents[3]
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path / "var"))
    with serve_directory(mirror) as url:
        monkeypatch.setenv("BROADCAST_VOICES_MIRROR", url)
        assert _cli(Settings(), "voices", "install", VI) == 0
    assert VI in capsys.readouterr().out
    assert (tmp_path / "var" / "voices" / f"{VI}.onnx").is_file()
    monkeypatch.setenv("BROADCAST_VOICES_MIRROR", UNREACHABLE)
    with pytest.raises(VoiceInstallError, match="Không kết nối được"):
        _cli(Settings(), "voices", "install", "vi_VN-other-low")


def test_engine_without_voices_tells_the_operator_what_to_install(tmp_path: Path) -> None:
    engine = PiperEngine(EngineConfig(data_dir=tmp_path))
    with pytest.raises(TtsUnavailable, match="broadcast voices install vi_VN-vais1000-medium"):
        engine.synthesize("Xin chào.")


def test_a_damaged_model_makes_the_engine_unavailable(tmp_path: Path, usb: Path) -> None:
    config = EngineConfig(data_dir=tmp_path)
    install_voice(VI, voices_dir=config.voices_dir, mirror=UNREACHABLE, source=str(usb))
    with pytest.raises(TtsUnavailable, match="cài lại"):
        PiperEngine(config).synthesize("Xin chào.")


def test_the_joe_voice_reads_with_vietnamese_phonemes(tmp_path: Path) -> None:
    config = EngineConfig(data_dir=tmp_path)
    link_joe(config.voices_dir)
    engine = PiperEngine(config)
    assert engine.voices() == [JOE]
    voice = engine._voice(JOE)
    assert voice.config.espeak_voice == "vi"
    phonemes = "".join(voice.phonemize("Xin chào bà con.")[0])
    assert "2" in phonemes  # espeak-ng's Vietnamese tone marks (huyền = 2), which English never produces
    assert engine._voice(JOE) is voice  # loaded once


def test_a_removed_model_is_unavailable_and_the_same_file_back_reuses_its_session(tmp_path: Path) -> None:
    config = EngineConfig(data_dir=tmp_path)
    link_joe(config.voices_dir)
    engine = PiperEngine(config)
    first = engine._voice(JOE)
    model = config.voices_dir / f"{JOE}.onnx"
    os.replace(model, model.with_suffix(".old"))
    with pytest.raises(TtsUnavailable):
        engine.synthesize("Xin chào.", JOE)
    os.replace(model.with_suffix(".old"), model)
    assert engine._voice(JOE) is first  # same file back: the cached session is still good
