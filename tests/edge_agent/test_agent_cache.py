"""The clip cache against a real local HTTP server: verify, reuse, refuse, leave nothing behind."""

from __future__ import annotations

import hashlib
import http.server
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from broadcast.protocol import ClipRef
from edge_agent.cache import ClipCache, ClipError, ClipIntegrityError
from tests.support.free_port import free_port

AUDIO = bytes(range(256)) * 400  # 100 KiB


@pytest.fixture
def served(tmp_path: Path, serve_clips: Callable[[Path, list[str]], str]) -> tuple[str, list[str]]:
    """Serve AUDIO as /clips/a.mp3; return (base url, request log)."""
    www = tmp_path / "www"
    (www / "clips").mkdir(parents=True)
    (www / "clips" / "a.mp3").write_bytes(AUDIO)
    requests: list[str] = []
    return serve_clips(www, requests), requests


def _ref(base: str, data: bytes = AUDIO, size: int | None = None, name: str = "a.mp3") -> ClipRef:
    return ClipRef(
        url=f"{base}/clips/{name}",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data) if size is None else size,
        duration_s=1.0,
    )


def _cache(tmp_path: Path, max_bytes: int = 10_000_000) -> ClipCache:
    return ClipCache(tmp_path / "clips", max_bytes, timeout_s=5, attempts=2, backoff_s=0.05)


def _leftovers(cache: ClipCache) -> list[str]:
    return sorted(p.name for p in cache.directory.iterdir())


def test_fetch_verifies_and_stores_by_hash(tmp_path: Path, served: tuple[str, list[str]]) -> None:
    base, requests = served
    cache = _cache(tmp_path)
    clip = _ref(base)
    path = cache.ensure(clip)
    assert path == cache.directory / clip.sha256
    assert path.read_bytes() == AUDIO
    assert _leftovers(cache) == [clip.sha256]
    assert requests == ["/clips/a.mp3"]


def test_cached_clip_is_reused_without_download(tmp_path: Path, served: tuple[str, list[str]]) -> None:
    base, requests = served
    cache = _cache(tmp_path)
    first = cache.ensure(_ref(base))
    again = _cache(tmp_path).ensure(_ref(base))  # also across a restart
    assert first == again
    assert len(requests) == 1


def test_corrupt_cached_clip_is_fetched_again(tmp_path: Path, served: tuple[str, list[str]]) -> None:
    base, requests = served
    cache = _cache(tmp_path)
    path = cache.ensure(_ref(base))
    path.write_bytes(b"\x00" * len(AUDIO))  # an SD card flipped the content
    assert cache.ensure(_ref(base)).read_bytes() == AUDIO
    assert len(requests) == 2


def test_sha_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path, served: tuple[str, list[str]]) -> None:
    base, requests = served
    cache = _cache(tmp_path)
    other = bytes(reversed(AUDIO))  # same size, different bytes
    with pytest.raises(ClipIntegrityError, match="sha256"):
        cache.ensure(_ref(base, data=other))
    assert _leftovers(cache) == []
    assert len(requests) == 1  # integrity errors are not retried


@pytest.mark.parametrize("size", [len(AUDIO) - 1, len(AUDIO) + 1])
def test_size_mismatch_is_an_error_and_leaves_nothing(
    tmp_path: Path, served: tuple[str, list[str]], size: int
) -> None:
    base, _ = served
    cache = _cache(tmp_path)
    with pytest.raises(ClipIntegrityError, match="bytes"):
        cache.ensure(_ref(base, size=size))
    assert _leftovers(cache) == []


def test_missing_clip_is_not_retried(tmp_path: Path, served: tuple[str, list[str]]) -> None:
    base, requests = served
    with pytest.raises(ClipError, match="404"):
        _cache(tmp_path).ensure(_ref(base, name="nope.mp3"))
    assert len(requests) == 1


def test_unreachable_server_is_retried_then_fails(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips", 10_000_000, timeout_s=1, attempts=3, backoff_s=0.05)
    started = time.monotonic()
    with pytest.raises(ClipError, match="could not fetch"):
        cache.ensure(_ref(f"http://127.0.0.1:{free_port()}"))
    assert time.monotonic() - started >= 0.05 + 0.1  # two backoffs happened
    assert _leftovers(cache) == []


def test_retries_stop_at_the_deadline(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips", 10_000_000, timeout_s=1, attempts=10, backoff_s=5)
    started = time.monotonic()
    with pytest.raises(ClipError):
        cache.ensure(_ref(f"http://127.0.0.1:{free_port()}"), deadline=time.time() + 1)
    assert time.monotonic() - started < 1


def test_clip_larger_than_cache_is_refused(tmp_path: Path, served: tuple[str, list[str]]) -> None:
    base, requests = served
    with pytest.raises(ClipError, match="exceeds"):
        _cache(tmp_path, max_bytes=1000).ensure(_ref(base))
    assert requests == []


def test_least_recently_used_clips_are_evicted_unless_in_use(
    tmp_path: Path, served: tuple[str, list[str]]
) -> None:
    base, _ = served
    www = tmp_path / "www" / "clips"
    blobs = {name: bytes([i]) * 40_000 for i, name in enumerate(["b", "c", "d"])}
    for name, data in blobs.items():
        (www / name).write_bytes(data)
    refs = {name: _ref(base, data=data, name=name) for name, data in blobs.items()}
    in_use = {refs["b"].sha256}
    cache = ClipCache(tmp_path / "clips", 100_000, attempts=1, in_use=lambda: in_use)
    cache.ensure(refs["b"])
    cache.ensure(refs["c"])
    cache.ensure(refs["d"])  # 120 kB > 100 kB: "c" goes, "b" is older but still needed
    assert _leftovers(cache) == sorted([refs["b"].sha256, refs["d"].sha256])


def test_download_is_fsynced_before_rename_and_the_directory_after(
    tmp_path: Path, served: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = served
    cache = _cache(tmp_path)
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    cache.ensure(_ref(base))
    assert events == ["fsync-file", "rename", "fsync-dir"]


class _StallingHandler(http.server.BaseHTTPRequestHandler):
    """Send 80 % of AUDIO, then hang: the agent gets killed mid-download."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(AUDIO)))
        self.end_headers()
        self.wfile.write(AUDIO[: len(AUDIO) * 4 // 5])
        self.wfile.flush()
        time.sleep(30)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_download_cut_off_by_a_kill_leaves_no_clip_and_is_redone(
    tmp_path: Path, served: tuple[str, list[str]]
) -> None:
    stalling = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    stalling.daemon_threads = True
    threading.Thread(target=stalling.serve_forever, args=(0.05,), daemon=True).start()
    try:
        clip = _ref(f"http://127.0.0.1:{stalling.server_address[1]}")
        fields = tuple(vars(clip).values())
        code = (
            "from pathlib import Path; from broadcast.protocol import ClipRef; "
            "from edge_agent.cache import ClipCache; "
            f"ClipCache(Path({str(tmp_path / 'clips')!r}), 10_000_000).ensure(ClipRef(*{fields!r}))"
        )
        process = subprocess.Popen([sys.executable, "-c", code])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            parts = list((tmp_path / "clips").glob(".part-*")) if (tmp_path / "clips").exists() else []
            if parts and parts[0].stat().st_size >= 64 * 1024:  # one read chunk is on disk
                break
            time.sleep(0.02)
        process.kill()  # the nearest a test gets to pulling the plug
        process.wait(5)
    finally:
        stalling.shutdown()
        stalling.server_close()
    assert [p.name[:6] for p in (tmp_path / "clips").iterdir()] == [".part-"]
    assert not (tmp_path / "clips" / clip.sha256).exists()  # never a half clip under the real name
    base, _ = served
    cache = _cache(tmp_path)  # the restart cleans up, then fetches the whole clip again
    assert cache.ensure(_ref(base)).read_bytes() == AUDIO
    assert _leftovers(cache) == [clip.sha256]


def test_parallel_downloads_count_against_the_bound(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips", 100_000)
    old = cache.directory / ("0" * 64)
    old.write_bytes(b"x" * 30_000)
    other = threading.Thread(target=cache._make_room, args=(60_000,))  # a download in progress
    other.start()
    other.join()
    assert old.exists()  # 30 kB + 60 kB fit
    cache._make_room(60_000)  # the second parallel download: 30 + 60 + 60 > 100
    assert not old.exists()
