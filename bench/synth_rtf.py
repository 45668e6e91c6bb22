"""Benchmark the bulletin path per stage (normalise, synthesise, encode) on the shared corpus; print JSON.

Usage: python -m bench.synth_rtf [CORPUS_DIR]
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from broadcast.audio import ffmpeg_exe, render_clip
from broadcast.config import Settings
from broadcast.tts import get_engine, normalize_text

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
NORMALISE_REPEATS = 20  # normalising one text takes milliseconds: repeat for a stable throughput figure


def bench_text(text: str, settings: Settings, ffmpeg: str) -> dict[str, Any]:
    """Time each stage of rendering ``text`` and return the measurements."""
    engine = get_engine(settings.tts_engine)
    started = time.perf_counter()
    for _ in range(NORMALISE_REPEATS):
        spoken = normalize_text(text)
    normalise_s = (time.perf_counter() - started) / NORMALISE_REPEATS

    started = time.perf_counter()
    speech = engine.synthesize(spoken, settings.tts_voice)
    synth_s = time.perf_counter() - started

    started = time.perf_counter()
    clip = render_clip(
        speech, ffmpeg=ffmpeg, target_lufs=settings.loudness_lufs, bitrate=settings.mp3_bitrate
    )
    encode_s = time.perf_counter() - started

    audio_s = speech.duration_s
    total_s = normalise_s + synth_s + encode_s
    return {
        "chars": len(text),
        "spoken_chars": len(spoken),
        "audio_s": round(audio_s, 2),
        "clip_s": round(clip.duration_s, 2),
        "clip_kb": round(len(clip.data) / 1024, 1),
        "loudness_lufs": clip.loudness_lufs,
        "normalise_s": round(normalise_s, 4),
        "synthesise_s": round(synth_s, 3),
        "encode_s": round(encode_s, 3),
        "total_s": round(total_s, 3),
        "rtf": round(total_s / audio_s, 4),
        "rtf_synthesise": round(synth_s / audio_s, 4),
        "rtf_encode": round(encode_s / audio_s, 4),
    }


def run(corpus: Path) -> dict[str, Any]:
    """Benchmark every ``*.txt`` file under ``corpus`` and return per-text results and totals."""
    files = sorted(p for p in corpus.glob("*.txt"))
    if not files:
        raise SystemExit(f"no *.txt files in {corpus}")
    settings = Settings()  # type: ignore[call-arg,unused-ignore]  # no pydantic mypy plugin
    ffmpeg = ffmpeg_exe(settings.ffmpeg_bin)
    get_engine(settings.tts_engine).synthesize("Khởi động.", settings.tts_voice)  # one-off library init
    texts = {path.name: bench_text(path.read_text(encoding="utf-8"), settings, ffmpeg) for path in files}

    def total(key: str) -> float:
        return sum(float(result[key]) for result in texts.values())

    audio_s = total("audio_s")
    return {
        "benchmark": "synth_rtf",
        "engine": settings.tts_engine,
        "voice": settings.tts_voice,
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "texts": texts,
        "totals": {
            "files": len(texts),
            "chars": int(total("chars")),
            "audio_s": round(audio_s, 1),
            "normalise_s": round(total("normalise_s"), 3),
            "synthesise_s": round(total("synthesise_s"), 2),
            "encode_s": round(total("encode_s"), 2),
            "total_s": round(total("total_s"), 2),
            "rtf": round(total("total_s") / audio_s, 4),
            "rtf_synthesise": round(total("synthesise_s") / audio_s, 4),
            "rtf_encode": round(total("encode_s") / audio_s, 4),
            "normaliser_chars_per_s": round(total("chars") / total("normalise_s")),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the corpus named in ``argv`` (default ../shared/corpus) and print JSON."""
    args = sys.argv[1:] if argv is None else argv
    corpus = Path(args[0]) if args else DEFAULT_CORPUS
    print(json.dumps(run(corpus), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
