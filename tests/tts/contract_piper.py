"""Contract adapter for Piper: the joe model, installed over HTTP, read with Vietnamese phonemes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from broadcast.tts import EngineConfig, TtsEngine, get_engine
from tests.support.piper_voice import link_joe


@contextmanager
def engine(tmp_path: Path) -> Iterator[TtsEngine]:
    config = EngineConfig(data_dir=tmp_path / "var")
    link_joe(config.voices_dir)
    yield get_engine("piper", config)


@contextmanager
def broken_engine(tmp_path: Path) -> Iterator[TtsEngine]:
    yield get_engine("piper", EngineConfig(data_dir=tmp_path / "empty"))
