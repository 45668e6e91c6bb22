"""The station's default espeak-ng reading stays understood: an offline recogniser's word error rate.

A few sentences of `bench.intelligibility` are spoken with the station's default engine, voice and rate
and transcribed by viet-asr (extra ``asr``, part of ``dev``; its model is inside the wheel, nothing is
downloaded). The bound is the WER measured for the default reading (BENCHMARKS.md) with a margin; the
reading before the benchmark chose its settings scores above it on the same sentences. ~55 s of speech,
~12 s of recognition on one core: light enough for the default pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bench.intelligibility import SENTENCES
from bench.wer import word_error_rate
from broadcast.config import Settings
from broadcast.tts import EngineConfig, get_engine

if TYPE_CHECKING:
    from bench.recogniser import Recogniser

PICKED = tuple(range(0, len(SENTENCES), 2))  # every second sentence of the benchmark: 12, 215 words
MEASURED_WER = (0.753, 0.758)  # the default reading on these sentences, four runs (BENCHMARKS.md)
BOUND = 0.81
"""Measured + margin: espeak-ng's output depends on what the process spoke before (its waveform state
carries over), which moves a few words either way. The reading before the benchmark (the bare ``vi``
voice) scored 0.847-0.860 on the same sentences: above the bound, so falling back to it fails."""


@pytest.fixture(scope="module")
def recogniser() -> Recogniser:
    """Load viet-asr once; a missing package skips here, and under CI=true that skip fails the run."""
    pytest.importorskip("vietasr", reason="viet-asr is not installed: pip install -e '.[dev]' (extra asr)")
    from bench.recogniser import Recogniser

    return Recogniser()


def test_the_default_espeak_reading_is_understood(recogniser: Recogniser) -> None:
    fields = Settings.model_fields
    engine = get_engine("espeak", EngineConfig(rate_wpm=int(fields["tts_rate_wpm"].default)))
    voice = str(fields["tts_voice"].default)
    pairs = [(SENTENCES[i], recogniser.transcribe(engine.synthesize(SENTENCES[i], voice))) for i in PICKED]
    wer = word_error_rate(pairs)
    assert wer <= BOUND, f"WER {wer:.3f} > {BOUND} (measured {MEASURED_WER}): {pairs}"
