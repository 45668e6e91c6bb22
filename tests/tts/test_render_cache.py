"""The render cache: one owner of speech and clips, one key scheme, bounded by size with LRU eviction."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from broadcast.audio import EncodedClip, PcmAudio, ffmpeg_exe
from broadcast.clipstore.cache import RenderCache
from broadcast.clipstore.rendering import RenderOptions, render_bulletin
from broadcast.tts import EngineConfig

OPTIONS = {"rate_wpm": 150}
KB = 1024


def _speech(n: int, size: int = 10 * KB) -> PcmAudio:
    return PcmAudio(samples=bytes([n % 256]) * size, sample_rate=16000)


def _age(cache: RenderCache, seconds_ago: float) -> None:
    """Make every entry now in the cache look `seconds_ago` older (eviction goes by the file's mtime)."""
    for _, _, path in cache._entries():
        stamp = path.stat().st_mtime - seconds_ago
        os.utime(path, (stamp, stamp))


def test_a_hit_returns_the_very_bytes_stored(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, scope="a")
    speech = _speech(7)
    cache.keep_speech("espeak", "vi", OPTIONS, "Xin chào.", speech)
    assert cache.speech("espeak", "vi", OPTIONS, "Xin chào.") == speech
    clip = EncodedClip(data=os.urandom(30 * KB), duration_s=3.5, loudness_lufs=-16.1)
    meta = {"spoken_text": "xin chào", "engine": "espeak", "voice": "vi"}
    cache.keep_clip(["espeak", "vi", "xin chào"], clip, meta)
    hit = cache.clip(["espeak", "vi", "xin chào"])
    assert hit is not None and hit.clip == clip and dict(hit.meta) == meta
    # One key scheme: kind and scope are part of the key, so nothing leaks across them.
    assert cache.speech("espeak", "vi", OPTIONS, "Xin chào!") is None
    assert RenderCache(tmp_path, scope="b").speech("espeak", "vi", OPTIONS, "Xin chào.") is None
    assert cache.key("speech", ["x"]) != cache.key("clips", ["x"])


def test_a_damaged_or_vanished_entry_is_a_miss(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    clip = EncodedClip(data=b"\xff\xfb" * 500, duration_s=1.0, loudness_lufs=-16.0)
    cache.keep_clip(["k"], clip, {})
    (path,) = [p for _, _, p in cache._entries()]
    path.write_bytes(path.read_bytes()[:-10])  # cut short: the checksum no longer matches
    assert cache.clip(["k"]) is None
    path.unlink()  # evicted by another process
    assert cache.clip(["k"]) is None


def test_eviction_keeps_the_cache_under_its_cap_least_recently_used_first(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, max_bytes=100 * KB)
    for n in range(20):  # 20 entries of 10 KB (+ an 8-byte header): twice the cap
        cache.keep_speech("espeak", "vi", OPTIONS, f"câu {n}", _speech(n))
        _age(cache, 1.0)  # each older than the next
    assert cache.size() > 200 * KB
    assert cache.speech("espeak", "vi", OPTIONS, "câu 0") is not None  # the oldest, used again now

    removed = cache.evict()

    assert cache.size() <= 100 * KB
    assert removed == 11  # 20 entries of 10,248 bytes: 9 fit in 100 KB
    kept = [n for n in range(20) if cache.speech("espeak", "vi", OPTIONS, f"câu {n}") is not None]
    assert kept == [0, *range(12, 20)]  # the one used again stays; the others go oldest first
    assert cache.evict() == 0  # under the cap: nothing more goes


def test_speech_and_clips_share_one_bound(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, max_bytes=50 * KB)
    cache.keep_clip(["old clip"], EncodedClip(os.urandom(40 * KB), 4.0, -16.0), {})
    _age(cache, 10.0)
    cache.keep_speech("espeak", "vi", OPTIONS, "mới", _speech(1, 20 * KB))
    assert cache.evict() == 1
    assert cache.clip(["old clip"]) is None
    assert cache.speech("espeak", "vi", OPTIONS, "mới") is not None


def test_rendering_serves_identical_clips_and_stays_bounded(tmp_path: Path) -> None:
    options = RenderOptions(
        chain=("espeak",),
        voice=None,
        engine_config=EngineConfig(),
        ffmpeg=ffmpeg_exe(None),
        cache_dir=tmp_path,
    )
    first = render_bulletin("Xin chào bà con. Hôm nay trời nắng.", options)
    again = render_bulletin("Xin chào bà con. Hôm nay trời nắng.", options)
    assert not first.cached and again.cached
    assert again.clip == first.clip and again.spoken_text == first.spoken_text
    assert (again.engine, again.voice) == (first.engine, first.voice)

    size = RenderCache(tmp_path).size()
    tight = replace(options, cache_max_bytes=size // 2)  # the next render must evict to fit
    render_bulletin("Bà con chú ý. Chiều nay có họp thôn.", tight)
    assert RenderCache(tmp_path).size() <= size // 2
    assert render_bulletin("Xin chào bà con. Hôm nay trời nắng.", options).cached is False  # evicted


def test_eviction_clears_the_unbounded_clip_cache_of_earlier_releases(tmp_path: Path) -> None:
    legacy = tmp_path / "clips"
    legacy.mkdir()
    (legacy / f"{'a' * 64}.mp3").write_bytes(b"\xff\xfb" * 1000)
    (legacy / f"{'a' * 64}.json").write_text("{}")
    cache = RenderCache(tmp_path, max_bytes=10**9)
    cache.keep_speech("espeak", "vi", {}, "Xin chào", PcmAudio(b"\x00\x01" * 100, 16000))
    cache.evict()
    assert sorted(p.name for p in legacy.iterdir() if p.is_file()) == []
    assert cache.speech("espeak", "vi", {}, "Xin chào") is not None
