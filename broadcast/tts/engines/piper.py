"""Piper neural voices (``piper-tts`` on onnxruntime), loaded from the station's installed voices."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broadcast.tts.base import EngineConfig, PcmAudio, TtsEngine, TtsError, TtsUnavailable
from broadcast.tts.voices import RECOMMENDED_VOICE, VoiceInstallError, voice_config, voice_names

if TYPE_CHECKING:
    from piper.voice import PiperVoice

BASE_RATE_WPM = EngineConfig.rate_wpm
"""The station's reading pace at which a Piper voice speaks at its own trained pace; a slower
``rate_wpm`` lengthens phonemes proportionally (Piper's ``length_scale``)."""

SENTENCE_PAUSE_S = 0.35
"""Piper returns one chunk per sentence with almost no silence around it; an announcer breathes between
sentences, and outdoor horn speakers need the gap for echoes to die down."""

_Identity = tuple[int, int, int, int]


@dataclass
class _Loaded:
    """An onnxruntime session for one model file, remembered with the file it came from."""

    model_path: Path
    identity: _Identity
    voice: PiperVoice


# Loading a model takes seconds and ~100 MB: one session per model file (hard links share it), for every
# engine instance of the process. Sessions are thread-safe; piper serialises espeak-ng phonemisation itself.
_loaded: dict[tuple[_Identity, str, int | None], _Loaded] = {}
_lock = threading.Lock()


class PiperEngine(TtsEngine):
    """Natural-sounding offline speech from voices installed with ``broadcast voices install``."""

    name = "piper"
    parallelism = "threads"  # onnxruntime releases the GIL; one loaded model serves every thread

    def __init__(self, config: EngineConfig | None = None, *, threads: int | None = None) -> None:
        super().__init__(config)
        if not 80 <= self.config.rate_wpm <= 450:
            raise TtsError(f"Tốc độ đọc {self.config.rate_wpm} từ/phút nằm ngoài khoảng cho phép (80-450).")
        if threads is not None and threads < 1:
            raise TtsError(f"Số luồng tính toán phải từ 1 trở lên (nhận {threads}).")
        self.threads = threads  # onnxruntime intra-op threads; None = its default (one per physical core)

    def voices(self) -> list[str]:
        """Return the installed Piper voices, Vietnamese first."""
        names = voice_names(self.config.voices_dir)
        if not names:
            raise TtsUnavailable(
                f"Chưa cài giọng đọc Piper nào (thư mục {self.config.voices_dir}). "
                f"Hãy chạy: broadcast voices install {RECOMMENDED_VOICE}"
            )
        return names

    def _synthesize(self, text: str, voice: str) -> PcmAudio:
        """Phonemise ``text`` with espeak-ng, run the ONNX model per sentence and join with pauses."""
        piper_voice = self._voice(voice)
        from piper.config import SynthesisConfig  # importable: _voice() has loaded piper

        sample_rate = piper_voice.config.sample_rate
        options = SynthesisConfig(
            length_scale=piper_voice.config.length_scale * BASE_RATE_WPM / self.config.rate_wpm
        )
        try:
            sentences = [
                chunk.audio_int16_bytes for chunk in piper_voice.synthesize(text, syn_config=options)
            ]
        except Exception as exc:  # onnxruntime's errors share no base class we could name
            raise TtsUnavailable(f"Piper không đọc được bằng giọng «{voice}»: {exc}") from exc
        if not any(sentences):
            raise TtsError("Piper không tạo ra âm thanh cho văn bản này.")
        pause = b"\x00\x00" * round(sample_rate * SENTENCE_PAUSE_S)
        return PcmAudio(samples=pause.join(sentences), sample_rate=sample_rate)

    def _voice(self, voice: str) -> PiperVoice:
        """Return the loaded model of ``voice``, loading it on first use or after a re-install."""
        voices_dir = self.config.voices_dir
        model_path = voices_dir / f"{voice}.onnx"
        try:
            config = voice_config(voices_dir, voice)
        except VoiceInstallError as exc:
            raise TtsUnavailable(str(exc)) from exc
        identity = _identity(model_path)
        if identity is None:
            raise TtsUnavailable(
                f"Không thấy mô hình {model_path}; hãy cài lại: broadcast voices install {voice}"
            )
        key = (identity, json.dumps(config, sort_keys=True), self.threads)
        entry = _loaded.get(key)  # no lock on the hot path: other threads may be loading another voice
        if entry is None:
            with _lock:
                entry = _loaded.get(key)
                if entry is None:
                    _forget_replaced()
                    entry = _Loaded(model_path, identity, _open(model_path, config, self.threads))
                    _loaded[key] = entry
        return entry.voice


def _identity(path: Path) -> _Identity | None:
    """Return what changes when a model file is replaced (a re-install renames a new file into place)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _forget_replaced() -> None:
    """Drop sessions whose model file was re-installed or removed; the caller holds the lock."""
    for key, entry in list(_loaded.items()):
        if _identity(entry.model_path) != entry.identity:
            del _loaded[key]


def _open(model_path: Path, config: dict[str, Any], threads: int | None) -> PiperVoice:
    """Create an onnxruntime session for ``model_path`` (piper's own loader cannot set thread counts)."""
    try:
        import onnxruntime  # type: ignore[import-untyped,unused-ignore]
        from piper.config import PiperConfig
        from piper.voice import PiperVoice
    except ImportError as exc:
        raise TtsUnavailable(f"Chưa cài gói piper-tts cho bộ đọc Piper: {exc}.") from exc
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        piper_config = PiperConfig.from_dict(config)
    except Exception as exc:  # a damaged model: onnxruntime raises its own unrelated exception types
        raise TtsUnavailable(
            f"Không nạp được mô hình giọng {model_path.name}: {exc}. "
            f"Hãy cài lại: broadcast voices install {model_path.stem}"
        ) from exc
    return PiperVoice(session=session, config=piper_config)
