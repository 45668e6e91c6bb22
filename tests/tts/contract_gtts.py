"""Contract adapter for gTTS, against a loopback server speaking Google Translate's batchexecute protocol."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from broadcast.tts import EngineConfig, TtsEngine, get_engine
from tests.support.tts_servers import GoogleTranslateTtsServer


def local_config(tmp_path: Path, url: str, timeout_s: float = 10.0) -> EngineConfig:
    """Return a config pointing gTTS at ``url``, refusing anything but loopback (no test touches Google)."""
    assert urlsplit(url).hostname == "127.0.0.1", url
    return EngineConfig(data_dir=tmp_path, gtts_url=url, timeout_s=timeout_s)


@contextmanager
def engine(tmp_path: Path) -> Iterator[TtsEngine]:
    with GoogleTranslateTtsServer() as server:
        yield get_engine("gtts", local_config(tmp_path, server.url))
        assert server.rejected == []  # every request gTTS made was well-formed


@contextmanager
def broken_engine(tmp_path: Path) -> Iterator[TtsEngine]:
    with GoogleTranslateTtsServer(mode="error") as server:
        yield get_engine("gtts", local_config(tmp_path, server.url))
