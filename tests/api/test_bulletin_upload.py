"""Recorded bulletins: real WAV/MP3 made by ffmpeg are normalised; broken and disguised files refused."""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from broadcast import domain
from broadcast.audio import DecodedRecording, ffmpeg_exe, measure_loudness
from broadcast.bulletins import uploads
from broadcast.config import Settings
from broadcast.storage.models import Bulletin, BulletinEvent
from broadcast.tts.base import PcmAudio
from tests.api.conftest import Api
from tests.api.workflow_support import EDITOR, running_station, stream_info, tone, web_client

SOURCE_S = 3.0
# What the pipeline adds around a recording: lead silence, chime, gap, tail (broadcast/audio.py).
ADDED_S = 0.1 + 1.2 + 0.45 + 0.6


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and broken recordings, all made by ffmpeg or cut from what it made."""
    d = tmp_path_factory.mktemp("recordings")
    wav = tone(d / "thong-bao.wav", SOURCE_S)
    mp3 = tone(d / "thong-bao.mp3", SOURCE_S)
    made = {"wav": wav, "mp3": mp3}
    made["short"] = tone(d / "ngan.wav", 0.3)
    made["silent"] = tone(d / "im-lang.wav", 2.0, volume=0.0)
    made["mono8k"] = tone(d / "dien-thoai.wav", 2.0, rate=8000, channels=1)
    data = mp3.read_bytes()
    (d / "cut.mp3").write_bytes(data[: len(data) // 8])  # its Xing header still says 3 s
    made["cut_mp3"] = d / "cut.mp3"
    garbled = bytearray(data)
    for i in range(1500, len(garbled), 97):  # bad bytes all through the frames, the header intact
        garbled[i] ^= 0x5A
    (d / "garbled.mp3").write_bytes(bytes(garbled))
    made["garbled"] = d / "garbled.mp3"
    wav_data = wav.read_bytes()
    (d / "cut.wav").write_bytes(wav_data[: len(wav_data) // 2])
    made["cut_wav"] = d / "cut.wav"
    data_chunk = wav_data.index(b"data")  # after "fmt " and ffmpeg's "LIST" chunk
    (d / "empty.wav").write_bytes(wav_data[: data_chunk + 4] + struct.pack("<I", 0))
    made["empty_wav"] = d / "empty.wav"
    (d / "noise.mp3").write_bytes(b"\x00" + os.urandom(40_000))  # never starts like a frame
    made["noise"] = d / "noise.mp3"
    # A playlist named .mp3: ffmpeg probing it as HLS would read the file it points at.
    (d / "playlist.mp3").write_bytes(b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n")
    made["playlist"] = d / "playlist.mp3"
    return made


def _upload(path: Path, name: str | None = None) -> uploads.Upload:
    return uploads.Upload(name or path.name, path.read_bytes())


# --- pure checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64\x00", "mp3"),  # MPEG-1 layer III frame header
        (b"\xff\xf1\x50\x80", None),  # ADTS AAC: layer bits 00
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),
        (b"OggS\x00\x02", None),
        (b"#EXTM3U\n", None),
        (b"", None),
    ],
)
def test_sniff_reads_the_first_bytes(head: bytes, found: str | None) -> None:
    assert uploads.sniff(head) == found


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("C:\\Users\\xa\\Desktop\\thông báo.mp3", "thông báo.mp3"),
        ("../../etc/thong-bao.wav", "thong-bao.wav"),
        ("ten\x00la\x1b.wav", "tenla.wav"),
        ("  ", ""),
    ],
)
def test_display_name_drops_paths_and_control_characters(name: str, shown: str) -> None:
    assert uploads.display_name(name) == shown


def test_file_checks_name_size_and_content(files: dict[str, Path]) -> None:
    wav = files["wav"].read_bytes()
    cases = {
        uploads.Upload("", wav): "Chưa chọn tệp",
        uploads.Upload("a.wav", b""): "rỗng",
        uploads.Upload("a.ogg", wav): "không có đuôi .mp3 hay .wav",
        uploads.Upload("a", wav): "không có đuôi .mp3 hay .wav",
        uploads.Upload("a.mp3", wav): "không phải âm thanh MP3 (nội dung là WAV",
        uploads.Upload("a.wav", files["mp3"].read_bytes()): "không phải âm thanh WAV (nội dung là MP3",
        _upload(files["noise"]): "không phải âm thanh MP3",
        _upload(files["playlist"]): "không phải âm thanh MP3",
        _upload(files["cut_wav"]): "bị cắt cụt",
        _upload(files["empty_wav"]): "không có dữ liệu âm thanh",
    }
    for upload, message in cases.items():
        with pytest.raises(domain.Invalid, match=re.escape(message)):
            uploads.check_file(upload, 20_000_000)
    with pytest.raises(domain.Invalid, match=r"quá lớn \(0\.5 MB, tối đa 0\.4 MB\)"):
        uploads.check_file(uploads.Upload("a.wav", wav), 400_000)
    assert uploads.check_file(uploads.Upload("A.WAV", wav), 20_000_000) == "wav"
    assert uploads.check_file(_upload(files["mp3"]), 20_000_000) == "mp3"


def _decoded(seconds: float, declared: float | None = None, errors: int = 0) -> DecodedRecording:
    pcm = PcmAudio(b"\x00\x01" * int(seconds * 8000), 8000)
    return DecodedRecording(pcm, declared, tuple(f"[error] bad frame {i}" for i in range(errors)))


@pytest.mark.parametrize(
    ("decoded", "message"),
    [
        (_decoded(0), "dài 0 giây"),
        (_decoded(0.5), "quá ngắn"),
        (_decoded(61, declared=120), "quá dài \\(2.0 phút; tối đa 1 phút\\)"),
        (_decoded(10, declared=30), "cắt cụt: chỉ giải mã được 10.0 trên 30.0 giây"),
        (_decoded(10, errors=3), "bị hỏng: bộ giải mã gặp 3 chỗ lỗi"),
    ],
)
def test_decoded_audio_checks(decoded: DecodedRecording, message: str) -> None:
    with pytest.raises(domain.Invalid, match=message):
        uploads.check_decoded(decoded, "x.mp3", min_s=1.0, max_s=60.0)


def test_decoded_audio_that_passes() -> None:
    uploads.check_decoded(_decoded(10, declared=10.02, errors=2), "x.mp3", min_s=1.0, max_s=60.0)


# --- the real pipeline (ffmpeg) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("upload-settings"))


@pytest.mark.parametrize("kind", ["wav", "mp3", "mono8k"])
def test_recordings_become_broadcast_clips(
    kind: str, files: dict[str, Path], settings: Settings, tmp_path: Path
) -> None:
    source = files[kind]
    result = uploads.normalise(_upload(source), settings.speech, settings.limits)
    length = 2.0 if kind == "mono8k" else SOURCE_S
    assert result.format == source.suffix[1:]
    assert result.source_s == pytest.approx(length, abs=0.1)
    assert result.clip.duration_s == pytest.approx(length + ADDED_S, abs=0.2)
    assert result.clip.loudness_lufs == pytest.approx(settings.loudness_lufs, abs=0.6)
    info = stream_info(result.clip.data, tmp_path)
    assert "mp3" in info and "48000 Hz" in info and "mono" in info, info
    assert measure_loudness(result.clip.data, ffmpeg_exe(None)) == pytest.approx(
        settings.loudness_lufs, abs=0.6
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("garbled", "bị hỏng"),
        ("cut_mp3", "cắt cụt"),
        ("short", "quá ngắn"),
        ("silent", "im lặng"),
        ("noise", "không phải âm thanh MP3"),
    ],
)
def test_broken_recordings_are_refused(
    kind: str, message: str, files: dict[str, Path], settings: Settings
) -> None:
    with pytest.raises(domain.Invalid, match=message):
        uploads.normalise(_upload(files[kind]), settings.speech, settings.limits)


def test_too_long_recordings_are_refused(files: dict[str, Path], tmp_path: Path) -> None:
    short_limit = Settings(data_dir=tmp_path, upload_max_s=2.0)
    with pytest.raises(domain.Invalid, match="quá dài"):
        uploads.normalise(_upload(files["wav"]), short_limit.speech, short_limit.limits)


# --- through the API and the web form -----------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_station(tmp_path_factory.mktemp("upload-station"), upload_max_bytes=2_000_000) as running:
        yield running


def _count(api: Api) -> int:
    with api.station.db.session() as session:
        return session.scalar(select(func.count()).select_from(Bulletin)) or 0


def test_upload_through_the_api(api: Api, files: dict[str, Path]) -> None:
    fields = {"title": "Thông báo của trưởng thôn", "zones": "thon-1", "text": "Ghi âm lúc 7h sáng"}
    with files["mp3"].open("rb") as handle:
        response = api.client.post(
            "/api/bulletins/upload",
            data=fields,
            files={"audio": ("thong-bao.mp3", handle, "audio/mpeg")},
            headers=api.editor,
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source"] == "upload" and body["status"] == "draft"
    assert body["spoken_text"] == uploads.SPOKEN_PLACEHOLDER and body["engine"] == "upload"
    assert body["unknown_abbreviations"] == []
    assert body["duration_s"] == pytest.approx(SOURCE_S + ADDED_S, abs=0.2)
    clip = api.client.get(body["audio_url"])
    assert clip.status_code == 200 and clip.headers["content-type"] == "audio/mpeg"

    history = api.client.get(f"/api/bulletins/{body['id']}/history", headers=api.editor).json()
    assert [e["action"] for e in history] == ["uploaded"]
    assert history[0]["detail"]["filename"] == "thong-bao.mp3"
    assert "thong-bao.mp3" in history[0]["summary"]

    # Reading a recording again makes no sense; replacing it with another file does.
    again = api.client.post(f"/api/bulletins/{body['id']}/render", headers=api.editor)
    assert again.status_code == 409 and "bản ghi âm" in again.json()["detail"]
    with files["wav"].open("rb") as handle:
        replaced = api.client.put(
            f"/api/bulletins/{body['id']}/audio",
            files={"audio": ("moi.wav", handle, "audio/wav")},
            headers=api.editor,
        )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["clip_sha256"] != body["clip_sha256"]


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("garbled", "garbled.mp3", "bị hỏng"),
        ("wav", "thong-bao.mp3", "không phải âm thanh MP3"),
        ("playlist", "playlist.mp3", "không phải âm thanh MP3"),
        ("empty_wav", "empty.wav", "không có dữ liệu"),
    ],
)
def test_bad_uploads_store_nothing(
    api: Api, files: dict[str, Path], kind: str, name: str, message: str
) -> None:
    before = _count(api)
    with api.station.db.session() as session:
        events = session.scalar(select(func.count()).select_from(BulletinEvent))
    response = api.client.post(
        "/api/bulletins/upload",
        data={"title": "Tệp hỏng", "zones": "thon-1"},
        files={"audio": (name, files[kind].read_bytes(), "application/octet-stream")},
        headers=api.editor,
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert _count(api) == before
    with api.station.db.session() as session:
        assert session.scalar(select(func.count()).select_from(BulletinEvent)) == events


def test_upload_limits_and_missing_fields(api: Api, files: dict[str, Path]) -> None:
    too_big = api.client.post(
        "/api/bulletins/upload",
        data={"title": "Quá lớn", "zones": "thon-1"},
        files={"audio": ("lon.wav", b"RIFF" + b"\x00" * 2_100_000, "audio/wav")},
        headers=api.editor,
    )
    assert too_big.status_code == 422 and "quá lớn" in too_big.json()["detail"]
    no_zone = api.client.post(
        "/api/bulletins/upload",
        data={"title": "Không vùng", "zones": "khong-co"},
        files={"audio": ("a.wav", files["wav"].read_bytes(), "audio/wav")},
        headers=api.editor,
    )
    assert no_zone.status_code == 422 and "khong-co" in no_zone.json()["detail"]
    anonymous = api.client.post("/api/bulletins/upload", data={"title": "x", "zones": "thon-1"})
    assert anonymous.status_code == 401


def test_upload_through_the_web_form(api: Api, files: dict[str, Path]) -> None:
    client, token = web_client(api, EDITOR)
    form = {"csrf_token": token, "title": "Loa ghi âm", "text": "", "priority": "normal", "zones": "thon-1"}
    created = client.post(
        "/bulletins",
        data=form,
        files={"audio": ("ghi-am.wav", files["wav"].read_bytes(), "audio/wav")},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page = client.get(created.headers["location"]).text
    assert "bản ghi âm tải lên" in page and "Máy sẽ đọc là" not in page
    assert "Đọc lại theo từ điển mới" not in page and "Tải bản ghi âm lên: ghi-am.wav" in page

    before = _count(api)
    refused = client.post(
        "/bulletins",
        data={**form, "title": "Tệp giả", "text": "Ghi chú của tôi"},
        files={"audio": ("gia.mp3", files["noise"].read_bytes(), "audio/mpeg")},
    )
    assert refused.status_code == 422
    assert "không phải âm thanh MP3" in refused.text and "hãy chọn lại tệp ghi âm" in refused.text
    assert 'value="Tệp giả"' in refused.text and "Ghi chú của tôi" in refused.text  # typed text kept
    assert _count(api) == before
