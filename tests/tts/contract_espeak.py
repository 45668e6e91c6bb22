"""Contract adapter for espeak-ng (offline: nothing to break)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from broadcast.tts import EngineConfig, TtsEngine, get_engine


@contextmanager
def engine(tmp_path: Path) -> Iterator[TtsEngine]:
    yield get_engine("espeak", EngineConfig(data_dir=tmp_path))


def broken_engine(tmp_path: Path) -> AbstractContextManager[TtsEngine] | None:
    return None
