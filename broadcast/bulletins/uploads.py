"""Recorded bulletins: check that an uploaded MP3/WAV is real, whole audio and make a broadcast clip of it."""

from __future__ import annotations

import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from broadcast import domain
from broadcast.audio import (
    AudioError,
    DecodedRecording,
    EncodedClip,
    decode_recording,
    ffmpeg_exe,
    render_clip,
)
from broadcast.config import InputLimits, SpeechSettings

AUDIO_RATE = 48000  # clips are mono 48 kHz, like the spoken ones
FORMATS = {"mp3": "MP3", "wav": "WAV"}
MAX_DECODE_ERRORS = 2  # a stray bad frame at the end of a phone recording is common; more is damage
MIN_DECODED_SHARE = 0.9  # of the length the file's header declares; less means the file was cut short
SPOKEN_PLACEHOLDER = "(bản ghi âm)"  # a recorded bulletin's spoken text: nothing is read by the machine
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Upload:
    """A file as the officer sent it."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class NormalisedUpload:
    """An accepted recording: the broadcast clip made of it and facts for the bulletin's history."""

    clip: EncodedClip
    filename: str
    format: str
    source_s: float


def megabytes(size: int) -> str:
    """Return a size in MB as officers read it: "20", "0.4"."""
    return f"{size / 1e6:.1f}".removesuffix(".0")


def display_name(filename: str) -> str:
    """Return the file's base name, without any client path or control characters, at most 100 chars."""
    base = PureWindowsPath(filename).name  # also strips POSIX paths: "/" is a separator there too
    return _UNSAFE_NAME.sub("", base).strip()[:100]


def sniff(data: bytes) -> str | None:
    """Return "wav" or "mp3" from the file's first bytes, or None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3":
        return "mp3"
    # An MPEG audio frame header: 11 sync bits, then a version and a layer that are not "reserved".
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        version, layer = (data[1] >> 3) & 3, (data[1] >> 1) & 3
        if version != 1 and layer != 0:
            return "mp3"
    return None


def wav_data_sizes(data: bytes) -> tuple[int, int] | None:
    """Return (bytes the WAV's data chunk declares, bytes present), or None if it has no data chunk."""
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if chunk_id == b"data":
            return size, len(data) - offset - 8
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


def check_file(upload: Upload, max_bytes: int) -> str:
    """Return the file's format ("mp3" | "wav") or raise Invalid: empty, too big, wrong name or content."""
    name = display_name(upload.filename)
    if not name:
        raise domain.Invalid("Chưa chọn tệp ghi âm (MP3 hoặc WAV).")
    if not upload.data:
        raise domain.Invalid(f"Tệp «{name}» rỗng (0 byte).")
    if len(upload.data) > max_bytes:
        raise domain.Invalid(
            f"Tệp «{name}» quá lớn ({megabytes(len(upload.data))} MB, tối đa {megabytes(max_bytes)} MB)."
        )
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in FORMATS:
        raise domain.Invalid(f"Chỉ nhận tệp ghi âm MP3 hoặc WAV; tệp «{name}» không có đuôi .mp3 hay .wav.")
    found = sniff(upload.data)
    if found != extension:
        hint = f" (nội dung là {FORMATS[found]}: hãy đổi đuôi tệp cho đúng)" if found else ""
        raise domain.Invalid(f"Nội dung tệp «{name}» không phải âm thanh {FORMATS[extension]}{hint}.")
    if extension == "wav":
        sizes = wav_data_sizes(upload.data)
        if sizes is None or sizes[0] == 0:
            raise domain.Invalid(f"Tệp «{name}» không có dữ liệu âm thanh.")
        declared, present = sizes
        if present < declared * MIN_DECODED_SHARE:
            raise domain.Invalid(
                f"Tệp «{name}» bị cắt cụt: chỉ còn {present / declared:.0%} phần âm thanh. "
                "Hãy ghi hoặc chép lại tệp."
            )
    return extension


def check_decoded(decoded: DecodedRecording, name: str, min_s: float, max_s: float) -> None:
    """Raise Invalid if the decoded recording is damaged, empty, too short or too long."""
    if len(decoded.errors) > MAX_DECODE_ERRORS:
        raise domain.Invalid(
            f"Tệp «{name}» bị hỏng: bộ giải mã gặp {len(decoded.errors)} chỗ lỗi. Hãy xuất lại tệp ghi âm."
        )
    duration = decoded.pcm.duration_s
    if duration <= 0:
        raise domain.Invalid(f"Tệp «{name}» không có âm thanh (dài 0 giây).")
    if duration > max_s:
        length = f"{decoded.declared_s / 60:.1f} phút" if decoded.declared_s else "dài hơn mức cho phép"
        raise domain.Invalid(f"Bản ghi âm «{name}» quá dài ({length}; tối đa {max_s / 60:g} phút).")
    if decoded.declared_s and duration < decoded.declared_s * MIN_DECODED_SHARE:
        raise domain.Invalid(
            f"Tệp «{name}» bị cắt cụt: chỉ giải mã được {duration:.1f} trên {decoded.declared_s:.1f} giây."
        )
    if duration < min_s:
        raise domain.Invalid(f"Bản ghi âm «{name}» quá ngắn ({duration:.1f} giây, tối thiểu {min_s:g} giây).")


def normalise(upload: Upload, speech: SpeechSettings, limits: InputLimits) -> NormalisedUpload:
    """Check the upload and return it as a broadcast clip: chime, target loudness, mono 48 kHz MP3."""
    fmt = check_file(upload, limits.upload_max_bytes)
    name = display_name(upload.filename)
    ffmpeg = ffmpeg_exe(speech.ffmpeg_bin)
    with tempfile.TemporaryDirectory(prefix="loa-upload-") as tmp:
        path = Path(tmp) / f"upload.{fmt}"  # never the officer's file name on our disk
        path.write_bytes(upload.data)
        try:
            decoded = decode_recording(
                path, ffmpeg, input_format=fmt, sample_rate=AUDIO_RATE, max_s=limits.upload_max_s + 1
            )
        except AudioError as exc:
            raise domain.Invalid(
                f"Tệp «{name}» bị hỏng hoặc không phải âm thanh {FORMATS[fmt]} hợp lệ."
            ) from exc
    check_decoded(decoded, name, limits.upload_min_s, limits.upload_max_s)
    try:
        clip = render_clip(
            decoded.pcm,
            ffmpeg=ffmpeg,
            target_lufs=speech.loudness_lufs,
            bitrate=speech.mp3_bitrate,
            with_chime=True,
        )
    except AudioError as exc:
        raise domain.Invalid(f"Không chuẩn hoá được bản ghi âm «{name}»: {exc}") from exc
    return NormalisedUpload(clip, name, fmt, decoded.pcm.duration_s)
