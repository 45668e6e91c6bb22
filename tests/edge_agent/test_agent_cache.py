"""The clip cache against a real local HTTP server: verify, reuse, refuse, leave nothing behind."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

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
