"""The contract every TTS engine passes: one shared suite, one `contract_<engine>.py` adapter per engine.

An adapter module defines:
- ``engine(tmp_path) -> ContextManager[TtsEngine]``: a working engine (local servers started inside);
- ``broken_engine(tmp_path) -> ContextManager[TtsEngine] | None``: an engine whose backend is unreachable
  or failing (None if it cannot fail that way, e.g. espeak), which must raise TtsUnavailable.
"""

from __future__ import annotations

import array
import importlib
import math
import pkgutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Protocol, cast

import pytest

import tests.tts
from broadcast.tts import PcmAudio, TtsEngine, TtsError, TtsUnavailable

SHORT = "Xin chào bà con."
LONG = (
    "Ủy ban nhân dân xã thông báo: ngày mười lăm tháng năm, trạm y tế xã tổ chức tiêm chủng cho trẻ em "
    "dưới năm tuổi. Đề nghị các gia đình đưa con em đến đúng giờ và mang theo sổ tiêm chủng."
)


class Adapter(Protocol):
    def engine(self, tmp_path: Path) -> AbstractContextManager[TtsEngine]: ...

    def broken_engine(self, tmp_path: Path) -> AbstractContextManager[TtsEngine] | None: ...


def _adapters() -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(tests.tts.__path__) if m.name.startswith("contract_")]
    return [importlib.import_module(f"tests.tts.{name}") for name in sorted(names)]


ADAPTERS = _adapters()


@pytest.fixture(params=ADAPTERS, ids=lambda m: m.__name__.rsplit("contract_", 1)[1])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return cast(Adapter, request.param)


@pytest.fixture
def engine(adapter: Adapter, tmp_path: Path) -> Iterator[TtsEngine]:
    with adapter.engine(tmp_path) as built:
        yield built


def _rms(audio: PcmAudio) -> float:
    samples = array.array("h")
    samples.frombytes(audio.samples[: len(audio.samples) // 2 * 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def test_at_least_espeak_is_covered() -> None:
    assert any(m.__name__.endswith("contract_espeak") for m in ADAPTERS)


def test_speaks_vietnamese_as_audible_pcm(engine: TtsEngine) -> None:
    audio = engine.synthesize(SHORT)
    assert audio.sample_rate in (16000, 22050, 24000, 44100, 48000)
    assert len(audio.samples) % 2 == 0
    assert 0.4 < audio.duration_s < 10
    assert _rms(audio) > 100  # not silence


def test_duration_grows_with_text(engine: TtsEngine) -> None:
    short = engine.synthesize(SHORT).duration_s
    long = engine.synthesize(LONG).duration_s
    assert long > 3 * short
    assert 0.03 < long / len(LONG) < 0.25  # seconds per character of a human-paced reader


def test_every_listed_voice_works_and_unknown_voices_are_refused(engine: TtsEngine) -> None:
    voices = engine.voices()
    assert voices
    assert engine.default_voice() == voices[0]
    for voice in voices:
        assert engine.synthesize(SHORT, voice).duration_s > 0.3
    with pytest.raises(TtsError, match="Giọng đọc"):
        engine.synthesize(SHORT, "khong-co-giong-nay")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused(engine: TtsEngine, text: str) -> None:
    with pytest.raises(TtsError):
        engine.synthesize(text)


def test_a_failing_backend_is_reported_as_unavailable(adapter: Adapter, tmp_path: Path) -> None:
    broken = adapter.broken_engine(tmp_path)
    if broken is None:
        return  # this engine has no remote part that can fail
    with broken as engine, pytest.raises(TtsUnavailable) as caught:
        engine.synthesize(SHORT)
    assert str(caught.value)  # a message the officer can read
