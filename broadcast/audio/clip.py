"""The clip pipeline: chime + speech -> loudness-normalised mono MP3 (ffmpeg is driven through ffmpeg.py)."""

from __future__ import annotations

import logging
import math
import warnings
from array import array
from functools import lru_cache

from broadcast.audio import ffmpeg as ff
from broadcast.audio.base import SAMPLE_WIDTH, AudioError, EncodedClip, PcmAudio

with warnings.catch_warnings():
    # pydub warns at import about audioop's deprecation and a missing ffmpeg on PATH; we give it PCM only.
    warnings.simplefilter("ignore")
    from pydub import AudioSegment

log = logging.getLogger(__name__)

LEAD_MS = 100  # lets the amplifier settle after its relay closes before the first note
GAP_MS = 450  # between chime and speech, so the chime reads as a signal and not as part of a word
TAIL_MS = 600  # after speech, so players that cut the last MP3 frame never cut a syllable
TOLERANCE_LU = 0.5  # re-encode when the MP3 lands further than this from the target
DRIVE_TOLERANCE_LU = 0.2  # how close the limited PCM must come before it is encoded
MAX_DRIVE_PASSES = 4
ENCODER_LOSS_LU = 0.45  # libmp3lame at 32-64 kbit/s measured 0.4-0.5 LU quieter than its espeak PCM input
CHIME_BELOW_SPEECH_LU = 3.0  # the chime calls attention; the bulletin itself must stay the loudest part
SILENCE_LUFS = -69.0  # ebur128 reports -70 LUFS when every block is gated out: nothing to normalise
_CHIME_NOTES = ((523.25, 0.0), (659.25, 0.32), (783.99, 0.64))  # C5, E5, G5: a rising "attention" call
_CHIME_S = 1.2


@lru_cache(maxsize=8)
def chime(sample_rate: int, rising: bool = True) -> PcmAudio:
    """Return a ~1.2 s three-note bell chime at ``sample_rate``, peaking at -6 dBFS.

    Rising (C, E, G) calls attention before an announcement; falling (G, E, C) closes a live one.
    """
    count = int(_CHIME_S * sample_rate)
    mix = [0.0] * count
    frequencies = [f for f, _ in _CHIME_NOTES]
    starts = [s for _, s in _CHIME_NOTES]
    for frequency, start_s in zip(frequencies if rising else frequencies[::-1], starts, strict=True):
        start = int(start_s * sample_rate)
        for i in range(count - start):
            t = i / sample_rate
            envelope = math.exp(-t * 5.0) * min(1.0, t / 0.005)  # 5 ms attack avoids a click
            phase = 2 * math.pi * frequency * t
            # Fundamental plus two soft overtones: a bell rather than a beep.
            mix[start + i] += envelope * (
                math.sin(phase) + 0.3 * math.sin(2 * phase) + 0.1 * math.sin(3 * phase)
            )
    fade = int(0.05 * sample_rate)
    for i in range(fade):
        mix[count - 1 - i] *= i / fade
    scale = 0.5 * 32767 / max(abs(value) for value in mix)
    samples = array("h", (round(value * scale) for value in mix))
    return PcmAudio(samples=samples.tobytes(), sample_rate=sample_rate)


def render_clip(
    speech: PcmAudio,
    *,
    ffmpeg: str,
    target_lufs: float = -16.0,
    bitrate: str = "48k",
    with_chime: bool = True,
) -> EncodedClip:
    """Assemble chime + gap + speech + tail and encode a mono MP3 at ``target_lufs`` integrated loudness."""
    _check_pcm(speech)
    timeout = ff.timeout_for(speech.duration_s)
    speech_lufs = ff.measure_pcm(speech.samples, speech.sample_rate, ffmpeg, timeout)
    if speech_lufs <= SILENCE_LUFS:
        raise AudioError("Bản đọc gần như im lặng, không chỉnh được độ to.")
    signal = None
    if with_chime:
        signal = chime(speech.sample_rate)
        chime_lufs = _chime_loudness(speech.sample_rate, ffmpeg)
        signal = _with_gain(signal, speech_lufs - CHIME_BELOW_SPEECH_LU - chime_lufs)
    pcm = assemble(speech, signal)
    pcm_target = target_lufs + ENCODER_LOSS_LU
    limited = _drive_to(pcm, speech.sample_rate, ffmpeg, pcm_target, pcm_target - speech_lufs, timeout)
    data = ff.encode_mp3(limited, speech.sample_rate, ffmpeg, bitrate=bitrate, timeout=timeout)
    loudness, duration = ff.analyse(data, ffmpeg, timeout)
    error = target_lufs - loudness
    if abs(error) > TOLERANCE_LU:  # this voice lost more (or less) to the encoder: correct once
        data = ff.encode_mp3(
            limited, speech.sample_rate, ffmpeg, bitrate=bitrate, timeout=timeout, gain=error
        )
        loudness, duration = ff.analyse(data, ffmpeg, timeout)
    if abs(target_lufs - loudness) > TOLERANCE_LU:
        log.warning("clip loudness %.2f LUFS, target %.2f LUFS", loudness, target_lufs)
    return EncodedClip(data=data, duration_s=duration, loudness_lufs=loudness)


def assemble(speech: PcmAudio, signal: PcmAudio | None = None) -> bytes:
    """Return the PCM of lead silence, [``signal`` + gap], speech and tail, at the speech's sample rate."""
    _check_pcm(speech)
    rate = speech.sample_rate
    clip = AudioSegment.silent(duration=LEAD_MS, frame_rate=rate)
    if signal is not None:
        if signal.sample_rate != rate:
            raise AudioError("Tiếng chuông và bản đọc khác tần số lấy mẫu.")
        clip += _segment(signal) + AudioSegment.silent(duration=GAP_MS, frame_rate=rate)
    clip += _segment(speech) + AudioSegment.silent(duration=TAIL_MS, frame_rate=rate)
    return bytes(clip.raw_data)


def measure_loudness(data: bytes, ffmpeg: str) -> float:
    """Return the integrated loudness (LUFS, EBU R128) of encoded audio ``data``."""
    return ff.analyse(data, ffmpeg, ff.timeout_for(_max_seconds(data)))[0]


def decode_duration(data: bytes, ffmpeg: str) -> float:
    """Return the duration in seconds of encoded audio ``data``, by decoding it."""
    return ff.analyse(data, ffmpeg, ff.timeout_for(_max_seconds(data)))[1]


def _max_seconds(data: bytes) -> float:
    """Return an upper bound of the duration of ``data``, assuming no clip is below 16 kbit/s."""
    return len(data) / 2000


def _check_pcm(audio: PcmAudio) -> None:
    """Reject PCM that is empty, truncated mid-sample or has no usable sample rate."""
    if not 8000 <= audio.sample_rate <= 96000:
        raise AudioError(f"Tần số lấy mẫu {audio.sample_rate} Hz không hợp lệ.")
    if not audio.samples or len(audio.samples) % SAMPLE_WIDTH:
        raise AudioError("Dữ liệu âm thanh rỗng hoặc bị cắt cụt.")


def _with_gain(audio: PcmAudio, gain_db: float) -> PcmAudio:
    """Return ``audio`` amplified by ``gain_db`` (pydub clips rather than wraps on overflow)."""
    samples = _segment(audio).apply_gain(gain_db).raw_data
    return PcmAudio(samples=bytes(samples), sample_rate=audio.sample_rate)


@lru_cache(maxsize=8)
def _chime_loudness(rate: int, ffmpeg: str) -> float:
    """Return the integrated loudness of the chime at ``rate`` (measured once per rate)."""
    return ff.measure_pcm(chime(rate).samples, rate, ffmpeg, ff.timeout_for(_CHIME_S))


def _segment(audio: PcmAudio) -> AudioSegment:
    """Wrap PCM as a pydub segment (no ffmpeg involved)."""
    return AudioSegment(
        data=audio.samples, sample_width=SAMPLE_WIDTH, frame_rate=audio.sample_rate, channels=1
    )


def _drive_to(pcm: bytes, rate: int, ffmpeg: str, target: float, gain: float, timeout: float) -> bytes:
    """Return ``pcm`` amplified and peak-limited so that its integrated loudness is ``target`` LUFS.

    Speech is peaky: reaching the target needs the limiter to shave peaks, which costs loudness that a
    plain gain cannot predict. So search the drive on PCM (cheap) and leave the MP3 encode (slow) for once.
    """
    previous: tuple[float, float] | None = None
    for _attempt in range(MAX_DRIVE_PASSES):
        limited, loudness = ff.drive(pcm, rate, ffmpeg, gain=gain, timeout=timeout)
        error = target - loudness
        if abs(error) <= DRIVE_TOLERANCE_LU:
            break
        # dB of drive per LU gained: > 1 because a harder drive loses more to the limiter (secant step).
        slope = 1.5
        if previous is not None and abs(loudness - previous[1]) > 0.05:
            slope = min(4.0, max(1.0, (gain - previous[0]) / (loudness - previous[1])))
        previous = (gain, loudness)
        gain += error * slope
    return limited
