"""A shared render cache never serves a render another setup made: ffmpeg build and engine server count."""

from __future__ import annotations

import os
from pathlib import Path

from broadcast.audio import ffmpeg_exe
from broadcast.clipstore.rendering import RenderOptions, render_bulletin
from broadcast.tts import EngineConfig
from tests.support.tts_servers import GoogleTranslateTtsServer
from tests.tts.contract_gtts import local_config

TEXT = "Loa xã thông báo: chiều nay cắt điện từ hai giờ."


def _wrapper(path: Path, note: str) -> str:
    """Write an ffmpeg launcher (a different build, as far as the cache can tell, for each note)."""
    path.write_text(f'#!/bin/sh\n# {note}\nexec "{ffmpeg_exe(None)}" "$@"\n')
    path.chmod(0o755)
    return str(path)


def test_a_changed_ffmpeg_renders_again_and_an_unchanged_one_hits(tmp_path: Path) -> None:
    ffmpeg = tmp_path / "ffmpeg"
    options = RenderOptions(
        chain=("espeak",), voice=None, engine_config=EngineConfig(), ffmpeg=_wrapper(ffmpeg, "6.0"),
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    assert not render_bulletin(TEXT, options).cached
    assert render_bulletin(TEXT, options).cached
    _wrapper(ffmpeg, "7.1 upgraded in place")  # same path, new build
    os.utime(ffmpeg, ns=(1, 1))
    assert not render_bulletin(TEXT, options).cached
    assert render_bulletin(TEXT, options).cached


def test_another_engine_server_is_asked_not_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"  # one cache for both setups, as the test suite and co-hosted stations share
    with GoogleTranslateTtsServer() as first, GoogleTranslateTtsServer() as second:
        for server in (first, second):
            options = RenderOptions(
                chain=("gtts",), voice=None, engine_config=local_config(tmp_path, server.url),
                ffmpeg=ffmpeg_exe(None), cache_dir=cache,
            )  # fmt: skip
            rendered = render_bulletin(TEXT, options)
            assert (rendered.engine, rendered.cached) == ("gtts", False)
            assert server.requests, f"{server.url} was never asked: served from the other server's renders"
        assert render_bulletin(TEXT, options).cached  # the same server again: from the cache
