"""Google Translate's online voice through the ``gtts`` package, sent to a configurable base URL."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
from gtts import gTTS
from gtts.tokenizer import pre_processors
from gtts.tts import gTTSError

from broadcast.tts.base import EngineConfig, TtsError, TtsUnavailable
from broadcast.tts.engines._online import OnlineEngine, Pacer

VOICES: tuple[str, ...] = ("vi",)
"""Google Translate has a single Vietnamese voice (northern, female)."""

REQUESTS_PER_S = 5.0
"""Google answers a quick burst but blocks an address that keeps calling fast; one bulletin sentence is
a few ≤100-character requests, so 5 a second costs little and keeps the station under the radar."""

COOL_DOWN_S = 120.0
"""How long to stop calling after a 429 that gives no Retry-After: retrying at once only extends a block."""

SERVICE = "Google"
_BATCHEXECUTE = "_/TranslateWebserverUi/data/batchexecute"

# gTTS's default pre-processors also delete any period that follows the letters of English abbreviations
# ("st.", "ms.", "dr."), even at a sentence end; for Vietnamese only tone-mark spacing and hyphen re-joining
# make sense.
_PRE_PROCESSORS = [pre_processors.tone_marks, pre_processors.end_of_line]
_CLAUSE_END = re.compile(r"(?<=[.!?;:,])\s+")
MAX_CHARS = 100  # what Google's endpoint accepts per request


def pack_clauses(text: str) -> list[str]:
    """Split ``text`` after punctuation and re-join neighbours into requests of at most MAX_CHARS.

    gTTS's own tokenizer cuts at every comma and drops the mark, which costs a request per clause and the
    pause Google would read at it; packing keeps the punctuation and needs about half the requests.
    gTTS still cuts any single clause longer than MAX_CHARS at a space.
    """
    packed: list[str] = []
    for clause in _CLAUSE_END.split(text):
        if packed and len(packed[-1]) + 1 + len(clause) <= MAX_CHARS:
            packed[-1] = f"{packed[-1]} {clause}"
        else:
            packed.append(clause)
    return packed


class _PacedGtts(gTTS):  # type: ignore[misc]  # gtts ships no type hints
    """gTTS posting to ``endpoint``, waiting for the pacer before each of its ≤100-character requests."""

    def __init__(self, text: str, *, lang: str, endpoint: str, timeout: float, pacer: Pacer) -> None:
        super().__init__(
            text,
            lang=lang,
            lang_check=False,
            timeout=timeout,
            pre_processor_funcs=_PRE_PROCESSORS,
            tokenizer_func=pack_clauses,
        )
        self._endpoint = endpoint
        self._pacer = pacer

    def _prepare_requests(self) -> Iterator[requests.PreparedRequest]:
        """Yield gTTS's requests re-addressed to the endpoint, one paced request at a time."""
        # gTTS.stream() sends each request as it iterates over this, so a generator paces the real sends.
        for request in super()._prepare_requests():
            request.prepare_url(self._endpoint, None)
            self._pacer.wait_turn()
            yield request


class GttsEngine(OnlineEngine):
    """Natural-sounding Vietnamese from Google Translate; needs the internet and may be rate-limited."""

    name = "gtts"
    service = SERVICE
    requests_per_s = REQUESTS_PER_S

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        parts = urlsplit(self.config.gtts_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TtsError(f"Địa chỉ dịch vụ Google «{self.config.gtts_url}» không hợp lệ (cần http/https).")
        self.endpoint = f"{self.config.gtts_url.rstrip('/')}/{_BATCHEXECUTE}"

    def voices(self) -> list[str]:
        """Return the one Vietnamese voice."""
        return list(VOICES)

    def _fetch_mp3(self, text: str, voice: str) -> bytes:
        """Fetch the MP3 for ``text`` (chunked by gTTS, one paced request a chunk) into memory."""
        client = _PacedGtts(
            text, lang=voice, endpoint=self.endpoint, timeout=self.config.timeout_s, pacer=self.pacer
        )
        # gTTS.save() opens the target before requesting; a buffer means no half-written file ever exists.
        buffer = io.BytesIO()
        try:
            client.write_to_fp(buffer)
        except gTTSError as exc:
            raise self._explain(exc) from exc
        except AssertionError as exc:  # gTTS asserts when nothing speakable is left after tokenising
            raise TtsError(
                "Văn bản không có chữ nào để Google đọc (chỉ có dấu câu hoặc khoảng trắng)."
            ) from exc
        return buffer.getvalue()

    def _explain(self, exc: gTTSError) -> TtsError:
        """Turn a gTTS failure into a message for commune staff; service outages become TtsUnavailable."""
        response: requests.Response | None = exc.rsp
        if response is None:
            if isinstance(exc.__context__, requests.Timeout):
                return TtsUnavailable(
                    f"Dịch vụ đọc trực tuyến Google không trả lời trong {self.config.timeout_s:g} giây "
                    "(mạng chậm hoặc dịch vụ quá tải)."
                )
            return TtsUnavailable(
                "Không kết nối được dịch vụ đọc trực tuyến Google: trạm mất mạng hoặc địa chỉ bị chặn."
            )
        status = response.status_code
        if status == 429:
            wait = self.pacer.back_off(response.headers.get("Retry-After"), COOL_DOWN_S)
            return TtsUnavailable(
                f"Google báo đã gọi quá nhiều lần (mã 429); trạm tạm ngừng dùng giọng Google {wait:.0f} giây."
            )
        if status == 403:
            return TtsUnavailable(
                "Google từ chối yêu cầu đọc (mã 403): địa chỉ mạng của trạm bị chặn hoặc dịch vụ đã đổi."
            )
        if status >= 500:
            return TtsUnavailable(f"Máy chủ đọc của Google đang gặp sự cố (mã {status}); hãy thử lại sau.")
        # Anything else most likely means Google changed its protocol: let the fallback chain read instead.
        if status == 200:
            return TtsUnavailable("Google trả lời nhưng không kèm âm thanh cho văn bản này.")
        return TtsUnavailable(
            f"Google không nhận yêu cầu đọc (mã {status}); kiểm tra địa chỉ dịch vụ trong cấu hình."
        )
