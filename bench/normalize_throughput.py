"""Benchmark the text normaliser's throughput on the shared corpus; print one JSON object.

Each run normalises the whole corpus repeatedly for at least ``--min-seconds`` and reports characters per
second; the figure is the median of ``--runs`` runs. A baseline measured the same way in the same process
(a plain ``re.sub`` + ``str.split`` pass over the same text) shows how far the normaliser is from the
cheapest possible pass on this machine. The result is also written to bench/results/normalize.json.

Usage: python -m bench.normalize_throughput [CORPUS_DIR] [--runs N] [--min-seconds S]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broadcast.tts import normalize_text, split_sentences

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
RESULTS = Path(__file__).resolve().parent / "results" / "normalize.json"
TARGET_CHARS_PER_S = 200_000
_SPACES = re.compile(r"\s+")


def baseline(text: str) -> str:
    """The cheapest pass that still touches every character: collapse whitespace, split into lines."""
    return "\n".join(" ".join(line.split()) for line in _SPACES.sub(" ", text).split(". "))


def chars_per_second(work: Callable[[str], object], text: str, min_seconds: float) -> tuple[float, int]:
    """Run ``work(text)`` until ``min_seconds`` have passed; return (characters per second, repeats)."""
    repeats = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < min_seconds:
        work(text)
        repeats += 1
        elapsed = time.perf_counter() - started
    return len(text) * repeats / elapsed, repeats


def run(corpus: Path, runs: int, min_seconds: float) -> dict[str, Any]:
    """Measure the normaliser and the baseline ``runs`` times each, interleaved; return the report."""
    files = sorted(corpus.glob("*.txt"))
    if not files:
        raise SystemExit(f"no corpus files in {corpus}")
    text = "\n".join(path.read_text(encoding="utf-8") for path in files)
    normalize_text(text)  # warm caches and compiled patterns before timing
    ours: list[float] = []
    base: list[float] = []
    repeats = 0
    for _ in range(runs):
        speed, repeats = chars_per_second(normalize_text, text, min_seconds)
        ours.append(speed)
        base.append(chars_per_second(baseline, text, min_seconds)[0])
    spoken = normalize_text(text)
    median = statistics.median(ours)
    return {
        "benchmark": "normalize_throughput",
        "corpus_files": len(files),
        "corpus_chars": len(text),
        "spoken_chars": len(spoken),
        "sentences": len(split_sentences(spoken)),
        "runs": runs,
        "min_seconds_per_run": min_seconds,
        "repeats_per_run": repeats,
        "chars_per_s_median": round(median),
        "chars_per_s_runs": [round(speed) for speed in ours],
        "baseline_chars_per_s_median": round(statistics.median(base)),
        "baseline": "re.sub whitespace + str.split/join over the same text",
        "ratio_to_baseline": round(median / statistics.median(base), 4),
        "target_chars_per_s": TARGET_CHARS_PER_S,
        "meets_target": median >= TARGET_CHARS_PER_S,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print and save the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results")
    args = parser.parse_args(argv)
    report = run(args.corpus, args.runs, args.min_seconds)
    output = json.dumps(report, ensure_ascii=False, indent=2)
    print(output)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(output + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
