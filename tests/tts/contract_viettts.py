"""Contract adapter for vietTTS: a small random voice written in the released checkpoint format.

The working engine loads and runs the real code path (restricted unpickling, Haiku models, HiFi-GAN) on
weights that make noise, not speech, but last like speech. Skipped only when JAX is not installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from broadcast.tts import EngineConfig, TtsEngine, get_engine

JAX_READY = all(importlib.util.find_spec(module) is not None for module in ("jax", "haiku", "numpy"))
SKIP_REASON = "vietTTS needs jax and dm-haiku (the viettts extra), which are not installed here"


@contextmanager
def engine(tmp_path: Path) -> Iterator[TtsEngine]:
    if not JAX_READY:
        pytest.skip(SKIP_REASON)
    from tests.support.viettts_checkpoints import shared_voice
    from tests.tts.test_engine_contract import LONG, SHORT

    # One voice and one engine for the session: the registry caches the engine, so JAX compiles once.
    yield get_engine("viettts", EngineConfig(data_dir=shared_voice((SHORT, LONG))))


@contextmanager
def broken_engine(tmp_path: Path) -> Iterator[TtsEngine]:
    # No voices/viettts directory at all: the state of a station whose operator never copied the weights.
    yield get_engine("viettts", EngineConfig(data_dir=tmp_path))
