"""The online engines' shared base: a memo of recent results, pacing, MP3 -> PCM through the ffmpeg adapter.

An online engine (Google, Edge) implements only `_fetch_mp3` (its request) and `voices`; `OnlineEngine`
does the rest, the same way for every service, in methods subclasses must not override.
"""

from __future__ import annotations

import hashlib
import threading
import time
from abc import abstractmethod
from collections import OrderedDict
from typing import ClassVar, final

from broadcast.audio import ffmpeg as ff
from broadcast.tts.base import EngineConfig, PcmAudio, TtsEngine, TtsError, TtsUnavailable

OUTPUT_RATE = 24000
"""Google Translate and Edge both deliver 24 kHz MP3: decoding at that rate resamples nothing and spares
parsing the decoder's output header (there is no ffprobe in the imageio-ffmpeg wheel)."""

RECENT_BYTES = 16 * 1024 * 1024
"""PCM kept per engine for repeated requests (~5 minutes of speech); the render cache persists."""

MAX_BACK_OFF_S = 600.0
"""Longest cool-down honoured from a Retry-After header, so a hostile value cannot silence an engine."""


class OnlineEngine(TtsEngine):
    """An engine that fetches MP3 from a web service; subclasses implement `_fetch_mp3` and `voices`."""

    service: ClassVar[str]
    """The service's name as staff know it ("Google", "Microsoft Edge"), for messages."""
    requests_per_s: ClassVar[float]
    """How many requests a second the service is sent at most (the pacer's rate)."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self.pacer = Pacer(self.service, self.requests_per_s)
        self.recent = RecentAudio()

    @final
    def _synthesize(self, text: str, voice: str) -> PcmAudio:
        """Return remembered audio, else fetch the MP3 (refused at once during a cool-down) and decode it."""
        key = RecentAudio.key(voice, text)
        remembered = self.recent.get(key)
        if remembered is not None:
            return remembered
        self.pacer.check()
        audio = decode_mp3(self._fetch_mp3(text, voice), ffmpeg=self.config.ffmpeg, service=self.service)
        self.recent.put(key, audio)
        return audio

    @abstractmethod
    def _fetch_mp3(self, text: str, voice: str) -> bytes:
        """Return the service's MP3 of ``text``; wait for ``self.pacer`` before each request sent.

        Raise TtsUnavailable for an outage (the fallback chain moves on), TtsError for unreadable text.
        """


def decode_mp3(data: bytes, *, ffmpeg: str, service: str) -> PcmAudio:
    """Decode MP3 ``data`` from ``service`` to 16-bit mono PCM at OUTPUT_RATE."""
    if not data:
        raise TtsError(f"Dịch vụ {service} không gửi về âm thanh nào cho văn bản này.")
    # Decoding failures are reported as "unavailable" so the fallback chain still reaches an offline voice.
    try:
        return ff.decode_mp3(data, ff.ffmpeg_exe(ffmpeg or None), sample_rate=OUTPUT_RATE)
    except ff.FfmpegMissing as exc:
        raise TtsUnavailable(
            f"Không chạy được ffmpeg để giải mã âm thanh {service}: {exc.strerror}."
        ) from exc
    except ff.FfmpegTimeout as exc:
        raise TtsUnavailable(
            f"ffmpeg giải mã âm thanh {service} quá {exc.timeout:.0f} giây, đã dừng."
        ) from exc
    except ff.FfmpegFailed as exc:
        detail = exc.last_line or "không có dữ liệu âm thanh"
        raise TtsUnavailable(
            f"Âm thanh dịch vụ {service} gửi về bị hỏng, không giải mã được ({detail})."
        ) from exc


class RecentAudio:
    """A thread-safe LRU of recent results, keyed by sha256(voice, text) and bounded in bytes."""

    def __init__(self, max_bytes: int = RECENT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, PcmAudio] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(voice: str, text: str) -> str:
        """Return the memo key of ``text`` spoken with ``voice``."""
        return hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()

    def get(self, key: str) -> PcmAudio | None:
        """Return the remembered audio for ``key`` and mark it recently used."""
        with self._lock:
            audio = self._items.get(key)
            if audio is not None:
                self._items.move_to_end(key)
            return audio

    def put(self, key: str, audio: PcmAudio) -> None:
        """Remember ``audio`` under ``key``, forgetting the least recently used beyond the byte budget."""
        if len(audio.samples) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old.samples)
            self._items[key] = audio
            self._size += len(audio.samples)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped.samples)


class Pacer:
    """Space the requests to one service and refuse them all while the service asked us to back off."""

    def __init__(self, service: str, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.service = service
        self.interval_s = 1.0 / per_second
        self._next_slot = 0.0
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise TtsUnavailable at once during a cool-down, without touching the network."""
        with self._lock:
            left = self._blocked_until - time.monotonic()
        if left > 0:
            raise TtsUnavailable(
                f"Dịch vụ đọc {self.service} đang giới hạn số lần gọi; trạm tạm ngừng gọi thêm "
                f"{left:.0f} giây nữa để tránh bị khoá lâu hơn."
            )

    def reserve(self) -> float:
        """Book the next request slot; return how many seconds the caller must wait before sending."""
        self.check()
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval_s
        return slot - now

    def wait_turn(self) -> None:
        """Block until this thread may send its next request (refused if a cool-down began meanwhile)."""
        time.sleep(self.reserve())
        self.check()

    def back_off(self, retry_after: str | None, default_s: float) -> float:
        """Start a cool-down from a Retry-After header (seconds) or ``default_s``; return its length."""
        seconds = default_s
        if retry_after and retry_after.strip().isdigit():
            seconds = float(retry_after.strip())
        seconds = min(max(seconds, 1.0), MAX_BACK_OFF_S)
        with self._lock:
            self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)
        return seconds
