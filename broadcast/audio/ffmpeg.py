"""The station's one ffmpeg adapter: find the binary, build every command line, run it, explain failures.

Nothing else in `broadcast` starts ffmpeg or imports ffmpeg-python or imageio-ffmpeg; the clip pipeline
(`clip.py`) and the online TTS engines (MP3 -> PCM) call the functions below. Every failure is an
`FfmpegError` (an AudioError whose message is shown to staff) of a kind a caller may phrase its own way.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_lib

from broadcast.audio.base import SAMPLE_WIDTH, AudioError, DecodedRecording, PcmAudio

PEAK_LIMIT = 10 ** (-1.5 / 20)  # -1.5 dBFS: headroom for MP3 decoding overshoot
ANALYSIS_RATE = 4000  # decoded PCM is only counted, so a low rate keeps the pipe small


class FfmpegError(AudioError):
    """ffmpeg did not do its work; ``str()`` is the message for staff."""


class FfmpegMissing(FfmpegError):
    """The binary could not be started (missing, not executable)."""

    def __init__(self, ffmpeg: str, strerror: str | None) -> None:
        super().__init__(f"Không chạy được chương trình ffmpeg ({ffmpeg}): {strerror}.")
        self.strerror = strerror


class FfmpegTimeout(FfmpegError):
    """ffmpeg ran past its deadline and was stopped."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"ffmpeg xử lý âm thanh quá {timeout:.0f} giây, đã dừng.")
        self.timeout = timeout


class FfmpegFailed(FfmpegError):
    """ffmpeg exited with an error, or gave no output where some was due."""

    def __init__(self, last_line: str | None, returncode: int) -> None:
        super().__init__(f"ffmpeg không xử lý được âm thanh: {last_line or f'mã thoát {returncode}'}")
        self.last_line = last_line


def ffmpeg_exe(configured: str | None) -> str:
    """Return the configured ffmpeg executable, else the one shipped in the imageio-ffmpeg wheel."""
    if configured:
        return configured
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def binary_identity(path: str) -> list[object]:
    """Return what tells one build of an executable from another: resolved path, size, modified time."""
    found = shutil.which(path) or path
    try:
        info = os.stat(found)
    except OSError:  # missing: the render fails anyway, and nothing is stored under this key
        return [found]
    return [os.path.realpath(found), info.st_size, info.st_mtime_ns]


def timeout_for(audio_s: float) -> float:
    """Return a generous ffmpeg deadline for ``audio_s`` seconds of audio (ffmpeg runs ~100x real time)."""
    return 30.0 + audio_s / 4


def run(
    ffmpeg: str, args: list[str], data: bytes, timeout: float, loglevel: str = "info"
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``data`` on stdin; raise FfmpegError on a missing binary, a failure or a timeout."""
    command = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", loglevel, *args]
    try:
        result = subprocess.run(command, input=data, capture_output=True, timeout=timeout, check=False)
    except OSError as exc:  # missing or not executable
        raise FfmpegMissing(ffmpeg, exc.strerror) from exc
    except subprocess.TimeoutExpired as exc:
        raise FfmpegTimeout(timeout) from exc
    if result.returncode != 0:
        raise FfmpegFailed(_last_line(result.stderr), result.returncode)
    return result


def measure_pcm(pcm: bytes, rate: int, ffmpeg: str, timeout: float) -> float:
    """Return the integrated loudness (LUFS) of raw PCM."""
    stream = _pcm_input(rate).filter("ebur128", framelog="quiet").output("-", format="null")
    return _integrated(run(ffmpeg, stream.get_args(), pcm, timeout).stderr)


def drive(pcm: bytes, rate: int, ffmpeg: str, *, gain: float, timeout: float) -> tuple[bytes, float]:
    """Amplify by ``gain`` dB and peak-limit PCM; return the processed PCM and its integrated loudness."""
    stream = (
        _limited(_pcm_input(rate), gain)
        .filter("ebur128", framelog="quiet")
        .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=rate)
    )
    result = run(ffmpeg, stream.get_args(), pcm, timeout)
    return result.stdout, _integrated(result.stderr)


def encode_mp3(
    pcm: bytes, rate: int, ffmpeg: str, *, bitrate: str, timeout: float, gain: float = 0.0
) -> bytes:
    """Encode PCM as mono CBR MP3, first applying ``gain`` dB through the limiter when non-zero."""
    stream = _limited(_pcm_input(rate), gain) if gain else _pcm_input(rate)
    output = stream.output("pipe:", format="mp3", acodec="libmp3lame", audio_bitrate=bitrate, ac=1, ar=rate)
    data = run(ffmpeg, output.get_args(), pcm, timeout).stdout
    if not data:
        raise AudioError("ffmpeg không tạo ra tệp MP3.")
    return data


def analyse(data: bytes, ffmpeg: str, timeout: float) -> tuple[float, float]:
    """Decode ``data`` once: return its integrated loudness and its duration in seconds."""
    stream = (
        ffmpeg_lib.input("pipe:")
        .filter("ebur128", framelog="quiet")
        .filter("aresample", ANALYSIS_RATE)
        .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1)
    )
    result = run(ffmpeg, stream.get_args(), data, timeout)
    duration = len(result.stdout) / SAMPLE_WIDTH / ANALYSIS_RATE
    if duration <= 0:
        raise AudioError("Tệp âm thanh không có nội dung.")
    return _integrated(result.stderr), duration


def decode_recording(
    path: Path, ffmpeg: str, *, input_format: str, sample_rate: int, max_s: float
) -> DecodedRecording:
    """Decode at most ``max_s`` seconds of an uploaded ``input_format`` file to mono PCM.

    The demuxer is forced and only the file protocol allowed: an upload is never probed as a playlist
    (the HLS or concat demuxers would read other files or URLs).
    """
    args = [
        *("-nostdin", "-protocol_whitelist", "file", "-f", input_format, "-i", str(path)),
        *("-t", f"{max_s:.3f}", "-vn", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1"),
        *("-ar", str(sample_rate), "pipe:"),
    ]
    result = run(ffmpeg, args, b"", timeout_for(max_s), loglevel="level+info")
    log_lines = result.stderr.decode(errors="replace").splitlines()
    declared = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", "\n".join(log_lines))
    declared_s = None
    if declared:
        hours, minutes, seconds = declared.groups()
        declared_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    errors = tuple(line for line in log_lines if "[error]" in line or "[fatal]" in line)
    samples = result.stdout[: len(result.stdout) // SAMPLE_WIDTH * SAMPLE_WIDTH]
    return DecodedRecording(PcmAudio(samples, sample_rate), declared_s, errors)


def decode_mp3(data: bytes, ffmpeg: str, *, sample_rate: int) -> PcmAudio:
    """Decode MP3 ``data`` to mono PCM at ``sample_rate``; no audio at all counts as a failure."""
    args = [
        *("-nostdin", "-f", "mp3", "-i", "pipe:"),
        *("-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(sample_rate), "pipe:"),
    ]
    timeout = 30.0 + len(data) / 8000  # ffmpeg decodes MP3 far faster than this even on a Pi
    result = run(ffmpeg, args, data, timeout, loglevel="error")
    pcm = result.stdout[: len(result.stdout) // SAMPLE_WIDTH * SAMPLE_WIDTH]
    if not pcm:
        raise FfmpegFailed(_last_line(result.stderr), result.returncode)
    return PcmAudio(samples=pcm, sample_rate=sample_rate)


def resample_pcm(audio: PcmAudio, ffmpeg: str, *, sample_rate: int) -> PcmAudio:
    """Resample mono 16-bit PCM to ``sample_rate`` with the SoX resampler and no dither.

    Dither adds noise a speech recogniser hears; the intelligibility benchmark feeds it exactly what the
    engine said, only at the recogniser's rate.
    """
    args = [
        *("-nostdin", "-f", "s16le", "-ar", str(audio.sample_rate), "-ac", "1", "-i", "pipe:"),
        *("-af", "aresample=resampler=soxr:dither_method=0", "-ar", str(sample_rate)),
        *("-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "pipe:"),
    ]
    result = run(ffmpeg, args, audio.samples, timeout_for(audio.duration_s), loglevel="error")
    pcm = result.stdout[: len(result.stdout) // SAMPLE_WIDTH * SAMPLE_WIDTH]
    if not pcm:
        raise FfmpegFailed(_last_line(result.stderr), result.returncode)
    return PcmAudio(samples=pcm, sample_rate=sample_rate)


def _last_line(stderr: bytes) -> str | None:
    """Return ffmpeg's last line on stderr (its verdict), or None when it said nothing."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else None


def _limited(stream: Any, gain: float) -> Any:
    """Add ``gain`` dB and a peak limiter at -1.5 dBFS to an ffmpeg-python stream."""
    return stream.filter("volume", f"{gain:.2f}dB").filter(
        "alimiter", limit=f"{PEAK_LIMIT:.4f}", level="false", latency="true"
    )


def _pcm_input(rate: int) -> Any:
    """Return an ffmpeg-python input reading mono s16le PCM from stdin."""
    return ffmpeg_lib.input("pipe:", format="s16le", ar=rate, ac=1)


def _integrated(stderr: bytes) -> float:
    """Return the integrated loudness from ebur128's summary on ffmpeg's stderr."""
    found = re.findall(rb"I:\s+(-?[\d.]+|-?inf|nan) LUFS", stderr)
    if not found:
        raise AudioError("Không đo được độ to của âm thanh.")
    value = float(found[-1])
    return value if math.isfinite(value) else -70.0


class Mp3Recorder:
    """Encode PCM to an MP3 file as it arrives (a live broadcast's recording), without holding it in memory.

    ffmpeg encodes far faster than real time, so a write waits on the pipe only for a moment; close()
    returns once the file is complete.
    """

    def __init__(self, ffmpeg: str, path: str, rate: int, *, bitrate: str) -> None:
        args = _pcm_input(rate).output(path, format="mp3", acodec="libmp3lame", audio_bitrate=bitrate, ac=1)
        command = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y", *args.get_args()]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise FfmpegMissing(ffmpeg, exc.strerror) from exc

    def write(self, pcm: bytes) -> None:
        """Append mono s16le PCM; raise FfmpegFailed if the encoder has died."""
        stdin = self._process.stdin
        if stdin is None:
            raise FfmpegFailed("ffmpeg closed", self._process.returncode or -1)
        try:
            stdin.write(pcm)
        except (BrokenPipeError, ValueError) as exc:
            raise FfmpegFailed(str(exc), self._process.poll() or -1) from exc

    def close(self, timeout: float = 60.0) -> None:
        """Finish the file; raise FfmpegError if ffmpeg failed or did not finish in time."""
        try:  # communicate() closes stdin: end of input, ffmpeg finishes the file
            _, stderr = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self._process.kill()
            self._process.wait()
            raise FfmpegTimeout(timeout) from exc
        if self._process.returncode != 0:
            raise FfmpegFailed(_last_line(stderr), self._process.returncode)
