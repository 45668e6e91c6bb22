"""Real-time factor of the whole bulletin path per engine, one core vs all cores, and cache-hit latency.

The path is the station's own (`render_bulletin`: normalise -> sentence-parallel synthesis -> chime,
loudness, MP3). espeak reads the whole corpus; slower engines read the first EXCERPT characters of each
text. gTTS and edge-tts talk to local servers speaking their protocols (audio made by espeak there), so
their figures are the client + protocol + decode overhead of this station, not the speed of Google or
Microsoft. Prints one JSON object and writes bench/results/engines.json.

Usage: python -m bench.engines_rtf [CORPUS_DIR]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from broadcast.audio import ffmpeg_exe
from broadcast.clipstore.rendering import RenderOptions, render_bulletin
from broadcast.tts import EngineConfig
from broadcast.tts.synthesis import shutdown_pools

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
EXCERPT = 1500


def _excerpt(text: str) -> str:
    cut = text[:EXCERPT]
    return cut[: cut.rfind(".") + 1] or cut


def _render_all(texts: list[str], options: RenderOptions) -> dict[str, float]:
    started = time.perf_counter()
    audio_s = sum(render_bulletin(text, options).clip.duration_s for text in texts)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 3), "audio_s": round(audio_s, 1), "rtf": round(wall / audio_s, 4)}


def measure(name: str, texts: list[str], config: EngineConfig, ffmpeg: str) -> dict[str, Any]:
    """Return one-core, all-core and cache-hit figures for engine `name`."""
    base = RenderOptions(chain=(name,), voice=None, engine_config=config, ffmpeg=ffmpeg)
    cores = os.cpu_count() or 1
    render_bulletin("Khởi động. Xin chào bà con. Một. Hai. Ba.", replace(base, workers=cores))  # warm pools
    result: dict[str, Any] = {
        "texts": len(texts),
        "chars": sum(len(t) for t in texts),
        "one_core": _render_all(texts, replace(base, workers=1)),
        f"all_cores_{cores}": _render_all(texts, replace(base, workers=cores)),
    }
    with tempfile.TemporaryDirectory() as cache:
        cached = replace(base, workers=cores, cache_dir=Path(cache))
        render_bulletin(texts[0], cached)
        started = time.perf_counter()
        hit = render_bulletin(texts[0], cached)
        result["cache_hit_ms"] = round((time.perf_counter() - started) * 1000, 2)
        result["cache_hit_served"] = hit.cached
    return result


@contextmanager
def _engine_configs(root: Path) -> Iterator[dict[str, EngineConfig]]:
    """Yield a config per engine that can run here (local servers for the online ones)."""
    from tests.support.piper_voice import installed_joe
    from tests.support.tts_servers import EdgeTtsServer, GoogleTranslateTtsServer

    piper_root = root / "piper"
    (piper_root / "voices").mkdir(parents=True)
    for file in installed_joe().iterdir():
        os.link(file, piper_root / "voices" / file.name)
    with GoogleTranslateTtsServer() as google, EdgeTtsServer() as edge:
        yield {
            "espeak": EngineConfig(data_dir=root),
            "piper": EngineConfig(data_dir=piper_root),
            "gtts": EngineConfig(data_dir=root, gtts_url=google.url),
            "edge": EngineConfig(data_dir=root, edge_url=edge.url),
        }


def run(corpus: Path) -> dict[str, Any]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))]
    if not texts:
        raise SystemExit(f"no *.txt in {corpus}")
    ffmpeg = ffmpeg_exe(None)
    results: dict[str, Any] = {"benchmark": "engines_rtf", "cores": os.cpu_count(), "excerpt_chars": EXCERPT}
    with tempfile.TemporaryDirectory() as tmp, _engine_configs(Path(tmp)) as configs:
        for name, config in configs.items():
            chosen = texts if name == "espeak" else [_excerpt(t) for t in texts]
            results[name] = measure(name, chosen, config, ffmpeg)
            print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
    shutdown_pools()
    return results


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    results = run(Path(args[0]) if args else DEFAULT_CORPUS)
    out = ROOT / "bench" / "results" / "engines.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
