"""Contract adapter for edge-tts, against a loopback server speaking Edge's read-aloud websocket protocol."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from broadcast.tts import EngineConfig, TtsEngine, get_engine
from tests.support.free_port import free_port
from tests.support.tts_servers import EdgeTtsServer


def local_config(tmp_path: Path, url: str, timeout_s: float = 10.0) -> EngineConfig:
    """Return a config pointing edge-tts at ``url``, refusing anything but loopback (no test touches Bing)."""
    assert urlsplit(url).hostname == "127.0.0.1", url
    return EngineConfig(data_dir=tmp_path, edge_url=url, timeout_s=timeout_s)


@contextmanager
def engine(tmp_path: Path) -> Iterator[TtsEngine]:
    with EdgeTtsServer() as server:
        yield get_engine("edge", local_config(tmp_path, server.url))
        assert server.rejected == []  # every handshake and message edge-tts sent was well-formed


@contextmanager
def broken_engine(tmp_path: Path) -> Iterator[TtsEngine]:
    # Nothing listens on the port: the station is offline as far as edge-tts can tell.
    yield get_engine("edge", local_config(tmp_path, f"ws://127.0.0.1:{free_port()}"))
