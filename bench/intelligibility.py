"""What listeners understand: the word error rate of an offline Vietnamese recogniser on station speech.

A fixed set of bulletin sentences (already normalised: what the engine speaks) is synthesised with every
offline engine and voice of this machine, each clip resampled to 16 kHz without dither and transcribed by
viet-asr (`bench.recogniser`). espeak-ng is swept one setting at a time around today's default (voice,
variant, rate, pitch, pitch range, word gap); a second stage combines the values that beat the default,
with each of them left out once. Online engines (gTTS, edge-tts) are skipped: no network.

Usage: python -m bench.intelligibility [--limit N] [--workers N] [--refine]
(JSON on stdout and in bench/results/intelligibility.json, with --refine intelligibility_refine.json)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.intelligibility_grid import (
    BASELINE,
    Setting,
    combinations,
    piper_settings,
    refine,
    station_default,
    sweep,
)
from bench.recogniser import PACKAGE, PRESET, SAMPLE_RATE, Recogniser
from bench.wer import word_errors
from broadcast.tts import EngineConfig, PcmAudio, TtsEngine
from broadcast.tts.engines.espeak import EspeakEngine, EspeakSettings
from broadcast.tts.engines.piper import PiperEngine

RESULTS = Path(__file__).resolve().parent / "results" / "intelligibility.json"

SENTENCES: tuple[str, ...] = (
    "Điện lực huyện thông báo tạm ngừng cấp điện để bảo dưỡng đường dây từ tám giờ đến mười sáu giờ.",
    "Khu vực mất điện gồm thôn một, thôn hai và khu chợ xã.",
    "Bà con chủ động sắp xếp công việc, bảo quản thực phẩm và không đến gần cột điện.",
    "Ban chỉ huy phòng chống thiên tai và tìm kiếm cứu nạn xã thông báo về cơn bão số ba.",
    "Bão số ba đang di chuyển vào vùng biển các tỉnh phía bắc, sức gió mạnh cấp mười, giật cấp mười hai.",
    "Từ chiều ngày sáu tháng chín, khu vực xã có mưa to đến rất to.",
    "Lượng mưa phổ biến từ một trăm năm mươi đến hai trăm năm mươi mi li mét.",
    "Đề nghị bà con chằng chống nhà cửa, thu hoạch sớm lúa và hoa màu.",
    "Các hộ ở vùng trũng sẵn sàng di chuyển đến nơi an toàn theo hướng dẫn của chính quyền.",
    "Hồi mười bảy giờ, vị trí tâm bão ở vào khoảng mười sáu phẩy tám độ vĩ bắc.",
    "Mực nước trên sông Hồng đang lên, có khả năng vượt mức báo động hai.",
    "Cảnh báo nguy cơ lũ quét và sạt lở đất tại các xã vùng núi trong đêm nay.",
    "Người dân không đi qua ngầm tràn, không vớt củi trên sông khi nước lũ lên cao.",
    "Hợp tác xã khuyến cáo bà con thu hoạch lúa khi tám mươi lăm phần trăm số hạt đã chín vàng.",
    "Năm nay năng suất lúa ước đạt sáu mươi hai tạ một héc ta.",
    "Sau thu hoạch, bà con không đốt rơm rạ trên đồng ruộng.",
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng mở rộng cho trẻ em dưới năm tuổi.",
    "Trạm y tế xã tổ chức tiêm chủng từ bảy giờ ba mươi phút đến mười một giờ sáng thứ bảy.",
    "Đề nghị các gia đình mang theo sổ tiêm chủng và thẻ bảo hiểm y tế của trẻ.",
    "Mọi thắc mắc xin liên hệ số điện thoại không chín một hai, ba bốn năm, sáu bảy tám.",
    "Nắng nóng gay gắt kéo dài, nhiệt độ cao nhất từ ba mươi tám đến bốn mươi độ.",
    "Thanh niên trong độ tuổi nghĩa vụ quân sự có mặt tại hội trường xã lúc bảy giờ sáng.",
    "Giá lúa tươi hôm nay từ bảy nghìn đến bảy nghìn năm trăm đồng một ki lô gam.",
    "Công an xã đề nghị bà con cảnh giác với các cuộc gọi lừa đảo qua điện thoại.",
)

# One recogniser and the engines of each setting per worker process (espeak-ng state is process-wide).
_recogniser: Recogniser | None = None
_engines: dict[Setting, TtsEngine] = {}


def engine_for(setting: Setting) -> TtsEngine:
    """Return the engine speaking ``setting`` (one instance per setting and process)."""
    engine = _engines.get(setting)
    if engine is None:
        config = EngineConfig(rate_wpm=setting.rate_wpm, data_dir=Path(setting.data_dir or "./var"))
        if setting.engine == "espeak":
            espeak = EspeakSettings(setting.variant, setting.pitch, setting.pitch_range, setting.word_gap)
            engine = EspeakEngine(config, settings=espeak)
        else:
            engine = PiperEngine(config, threads=1)
        _engines[setting] = engine
    return engine


def hear(setting: Setting, sentence: str) -> tuple[str, float, float, float]:
    """Speak ``sentence`` with ``setting`` and transcribe it: (heard, audio s, synthesis s, recognition s)."""
    global _recogniser
    if _recogniser is None:
        _recogniser = Recogniser()
    started = time.perf_counter()
    audio: PcmAudio = engine_for(setting).synthesize(sentence, setting.voice)
    synthesised = time.perf_counter()
    heard = _recogniser.transcribe(audio)
    return heard, audio.duration_s, synthesised - started, time.perf_counter() - synthesised


def score(
    pool: ProcessPoolExecutor, settings: Sequence[Setting], sentences: Sequence[str]
) -> list[dict[str, Any]]:
    """Run every sentence of every setting on the pool; return one result per setting."""
    jobs = {(s, i): pool.submit(hear, s, text) for s in settings for i, text in enumerate(sentences)}
    results = []
    for setting in settings:
        outcomes = [jobs[setting, i].result() for i in range(len(sentences))]
        counts = [word_errors(text, heard) for text, (heard, *_) in zip(sentences, outcomes, strict=True)]
        errors, words = sum(c[0] for c in counts), sum(c[1] for c in counts)
        print(f"{setting.label}: WER {errors / words:.3f}", file=sys.stderr, flush=True)
        results.append(
            {
                **setting.describe(),
                "wer": round(errors / words, 4),
                "errors": errors,
                "words": words,
                "sentences": len(sentences),
                "audio_s": round(sum(o[1] for o in outcomes), 1),
                "synthesise_s": round(sum(o[2] for o in outcomes), 2),
                "recognise_s": round(sum(o[3] for o in outcomes), 1),
                "heard": [o[0] for o in outcomes],
            }
        )
    return results


def run(sentences: Sequence[str], workers: int, refining: bool = False) -> dict[str, Any]:
    """Sweep, then combine (or refine); return the report (transcripts of the baseline, default and best)."""
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="intelligibility-") as data_dir,
        ProcessPoolExecutor(workers) as pool,
    ):
        if refining:
            piper_note = {"piper": "not in the refining run"}
            first, second = score(pool, _with_default(refine()), sentences), []
        else:
            piper, piper_note = piper_settings(Path(data_dir))
            first = score(pool, [*sweep(), *piper], sentences)
            espeak_first = [r for r in first if r["engine"] == "espeak"]
            scored = {r["label"] for r in first}
            second = score(pool, [s for s in combinations(espeak_first) if s.label not in scored], sentences)
    everything = sorted(first + second, key=lambda r: (r["wer"], r["label"]))
    espeak = [r for r in everything if r["engine"] == "espeak"]
    best, baseline = espeak[0], next(r for r in everything if r["label"] == BASELINE.label)
    default = next(r for r in everything if r.get("default"))
    for result in everything:
        if result["label"] not in {best["label"], baseline["label"], default["label"]}:
            del result["heard"]
    return {
        "benchmark": "intelligibility",
        "recogniser": {
            "package": f"{PACKAGE} {metadata.version(PACKAGE)}",
            "preset": PRESET,
            "sample_rate": SAMPLE_RATE,
            "input": "16-bit PCM mono WAV, soxr resampling, no dither",
        },
        "machine": {"python": platform.python_version(), "cores": os.cpu_count(), "workers": workers},
        "sentences": list(sentences),
        "words": baseline["words"],
        "wall_s": round(time.perf_counter() - started, 1),
        "baseline": baseline["label"],
        "best_espeak": best["label"],
        "station_default": default["label"],
        "side_by_side": {
            "baseline": baseline["wer"],
            "station_default": default["wer"],
            "best_espeak": best["wer"],
        },
        "skipped": {
            "gtts": "online engine (no network)",
            "edge": "online engine (no network)",
            "viettts": "no vietTTS voice installed",
            **piper_note,
        },
        "results": everything,
    }


def _with_default(settings: list[Setting]) -> list[Setting]:
    """Return ``settings`` with the station's default reading added when it is not among them."""
    default = station_default()
    return settings if default in settings else [*settings, default]


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, default=len(SENTENCES), help="use the first N sentences")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--refine", action="store_true", help="the neighbours of the sweep's best instead")
    args = parser.parse_args(list(argv) if argv is not None else None)
    report = run(SENTENCES[: args.limit], args.workers, args.refine)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    path = RESULTS.with_name("intelligibility_refine.json") if args.refine else RESULTS
    path.parent.mkdir(exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
