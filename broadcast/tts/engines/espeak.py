"""espeak-ng Vietnamese voices through ctypes on the library shipped by the ``espeakng-loader`` wheel."""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

from broadcast.tts.base import EngineConfig, PcmAudio, TtsEngine, TtsError

VOICES: tuple[str, ...] = ("vi", "vi-vn-x-central", "vi-vn-x-south")
"""Northern (default, the broadcast standard), Central (Huế) and Southern (Sài Gòn) Vietnamese."""

DEFAULT_RATE_WPM = EngineConfig.rate_wpm
"""espeak-ng's default is 175 wpm; commune announcers read slower so that words survive outdoor horn
speakers, echo between neighbouring clusters and listeners who are working, not sitting by a radio.
150 wpm lengthens speech by ~17 % and stays natural; much lower makes espeak's syllables drag."""


@dataclass(frozen=True)
class EspeakSettings:
    """How espeak-ng speaks besides voice and rate; the defaults are the station's reading.

    ``variant`` is an espeak-ng voice variant (``espeak-ng-data/voices/!v``: "m3", "klatt", ...) spoken as
    ``voice+variant`` ("" = the voice as it is); ``pitch`` and ``pitch_range`` are espeak-ng's 0-100 scales
    (50 = the voice's own); ``word_gap`` is an extra pause between words in units of 10 ms.
    """

    variant: str = ""
    pitch: int = 50
    pitch_range: int = 50
    word_gap: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.pitch <= 100 and 0 <= self.pitch_range <= 100):
            raise TtsError(f"Cao độ {self.pitch} và biên độ {self.pitch_range} phải nằm trong 0-100.")
        if not 0 <= self.word_gap <= 100:
            raise TtsError(f"Khoảng nghỉ giữa các từ {self.word_gap} (x10 ms) phải nằm trong 0-100.")
        if self.variant and not self.variant.replace("_", "").isalnum():
            raise TtsError(f"Biến thể giọng «{self.variant}» không hợp lệ.")


DEFAULT_SETTINGS = EspeakSettings(variant="f2", pitch=65, pitch_range=95, word_gap=0)
"""The reading an offline recogniser understood best (``bench/intelligibility.py``, BENCHMARKS.md): the
female variant f2, a little higher pitch and a wide pitch range (Vietnamese tones are pitch contours) cut
the word error rate from 0.86 (the bare voice) to 0.74 on 24 bulletin sentences; extra word gaps and
slower rates did not help once these were set. The variant applies to every Vietnamese voice."""

_OUTPUT_SYNCHRONOUS = 1  # ENOUTPUT_MODE_SYNCHRONOUS: espeak_Synth returns when all audio was delivered
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1  # espeakRATE
_PARAM_PITCH = 3  # espeakPITCH
_PARAM_RANGE = 4  # espeakRANGE
_PARAM_WORDGAP = 7  # espeakWORDGAP
_EE_OK = 0

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# espeak-ng keeps all its state in globals: one initialisation per process, one synthesis at a time.
_lock = threading.Lock()
_library: _Library | None = None


class _Library:
    """The initialised espeak-ng library and the PCM collected by its callback during one synthesis."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - the wheel is a hard dependency
            raise TtsError("Chưa cài bộ đọc espeak-ng (gói espeakng-loader).") from exc
        self.data_path = Path(espeakng_loader.get_data_path())
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_ng_InitializePath.argtypes = [ctypes.c_char_p]
        lib.espeak_ng_InitializePath.restype = None
        lib.espeak_ng_Initialize.argtypes = [ctypes.c_void_p]
        lib.espeak_ng_InitializeOutput.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p]
        lib.espeak_ng_GetSampleRate.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_ng_InitializePath(str(self.data_path).encode())
        status = lib.espeak_ng_Initialize(None)
        if status != _EE_OK:
            raise TtsError(f"Không khởi động được espeak-ng (mã lỗi {status}).")
        status = lib.espeak_ng_InitializeOutput(_OUTPUT_SYNCHRONOUS, 0, None)
        if status != _EE_OK:
            raise TtsError(f"Không khởi động được đầu ra espeak-ng (mã lỗi {status}).")
        self.lib = lib
        self.sample_rate = int(lib.espeak_ng_GetSampleRate())
        self._chunks: list[bytes] = []
        # Keep a reference: ctypes frees the trampoline when the Python object dies.
        self._callback = _SynthCallback(self._collect)
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        """Receive ``count`` samples from espeak; returning 0 asks it to go on."""
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def speak(self, text: str, voice: str, rate_wpm: int, settings: EspeakSettings) -> bytes:
        """Synthesise ``text``; the caller holds the module lock.

        Every parameter is set on every call: espeak-ng keeps them process-wide, and engines of other
        settings share the library.
        """
        name = f"{voice}+{settings.variant}" if settings.variant else voice
        if self.lib.espeak_SetVoiceByName(name.encode()) != _EE_OK:
            raise TtsError(f"espeak-ng không nạp được giọng «{name}».")
        self.lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, settings.pitch, 0)
        self.lib.espeak_SetParameter(_PARAM_RANGE, settings.pitch_range, 0)
        self.lib.espeak_SetParameter(_PARAM_WORDGAP, settings.word_gap, 0)
        data = text.encode("utf-8")
        self._chunks = []
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if status != _EE_OK:
            raise TtsError(f"espeak-ng không đọc được văn bản (mã lỗi {status}).")
        pcm, self._chunks = b"".join(self._chunks), []
        return pcm


def _get_library() -> _Library:
    """Initialise espeak-ng on first use; the caller holds the module lock."""
    global _library
    if _library is None:
        _library = _Library()
    return _library


class EspeakEngine(TtsEngine):
    """Offline formant synthesis: robotic but always available, fast, and tiny."""

    name = "espeak"
    parallelism = "processes"

    def __init__(
        self, config: EngineConfig | None = None, *, settings: EspeakSettings = DEFAULT_SETTINGS
    ) -> None:
        super().__init__(config)
        self.settings = settings
        rate_wpm = self.config.rate_wpm
        if not 80 <= rate_wpm <= 450:
            raise TtsError(f"Tốc độ đọc {rate_wpm} từ/phút nằm ngoài khoảng cho phép (80-450).")
        self.rate_wpm = rate_wpm
        self._voices: list[str] | None = None

    def voices(self) -> list[str]:
        """Return the Vietnamese voices whose definition files exist in the espeak-ng data."""
        if self._voices is None:
            with _lock:
                data_path = _get_library().data_path
            present = {p.name.lower() for p in (data_path / "lang").rglob("vi*") if p.is_file()}
            self._voices = [voice for voice in VOICES if voice in present]
            if not self._voices:
                raise TtsError("Dữ liệu espeak-ng không có giọng tiếng Việt nào.")
        return list(self._voices)

    def _synthesize(self, text: str, voice: str) -> PcmAudio:
        """Speak ``text`` under the module lock, since espeak-ng state is process-wide."""
        with _lock:
            library = _get_library()
            pcm = library.speak(text, voice, self.rate_wpm, self.settings)
            rate = library.sample_rate
        if not pcm:
            raise TtsError("espeak-ng không tạo ra âm thanh cho văn bản này.")
        return PcmAudio(samples=pcm, sample_rate=rate)
