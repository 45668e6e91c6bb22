"""Live broadcast engine (issue 16): Snapcast vs Icecast; latency, skew, a bad link, 1,000 listeners.

A source writes 48 kHz mono s16le in real time (20 ms chunks) with a tone burst every 2 s into each
engine: snapserver 0.26 (tcp server-mode source, flac, 48000:16:1, chunk_ms 20, buffer B ms) or icecast2
(ffmpeg encodes MP3 64 kbit/s and pushes it to a mount; burst-size 4 KiB). Three clients per run
(snapclient to stdout, or ffmpeg decoding the HTTP stream into a model player that plays bytes on
arrival) start 0.37 s apart. Latency = burst written -> burst onset at the client's output; skew = spread
of one burst's onsets over the clients; a dropout = silence (snapclient) or an empty player queue
(Icecast) after the first second. The impaired link is bench/live_impair.py (80 ± 30 ms each way, a
300-800 ms stall every ~10 s, 2 Mbit/s, then a 5 s blackhole). Listeners: bench/live_listeners.py.

Usage: python bench/live_engines.py [--quick] [--buffers 400,700,1000] [--listeners 0,100,1000]
       [--parts latency,impaired,fanout,bandwidth,behaviour] [--nice N] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.live_behaviour import server_restart, stream_switch  # noqa: E402
from bench.live_impair import Impairment  # noqa: E402
from bench.live_runs import fanout_run, stream_run  # noqa: E402
from bench.simulator.report import emit, exit_cleanly_on_sigterm, load_1m  # noqa: E402

GOAL_LOOPBACK_P50_MS, GOAL_IMPAIRED_P50_MS = 1000.0, 2000.0
OPUS, OPUS_BUFFER_MS = "opus:BITRATE:48000", 700  # Snapcast's opus needs stereo: the source duplicates
FLAC_16K = "flac@16000"  # 16 kHz mono: all a horn loudspeaker reproduces (as the Ghi âm recorder)


def versions() -> dict[str, str]:
    """Return the engine and tool versions that shape the numbers."""

    def first_line(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
            return (out.stdout or out.stderr).splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    from broadcast.audio.ffmpeg import ffmpeg_exe

    return {
        "snapserver": first_line(["snapserver", "--version"]),
        "snapclient": first_line(["snapclient", "--version"]),
        "icecast2": first_line(["dpkg-query", "-W", "-f", "${Version}", "icecast2"]),
        "ffmpeg": first_line([ffmpeg_exe(None), "-version"]),
    }


def recommend(impaired: dict[str, Any], loopback: dict[str, Any]) -> dict[str, Any]:
    """Pick the Snapcast buffer meeting both p50 goals with the fewest dropouts (then the smallest)."""
    rows = []
    for key, run in impaired.items():
        if not key.removeprefix("snapcast_").isdigit():
            continue  # flac runs only: the buffer is the variable
        buffer_ms = int(key.removeprefix("snapcast_"))
        lo = loopback.get(key, {}).get("latency_ms", {}).get("p50")
        hi = run["latency_ms"]["p50"]
        ok = lo is not None and hi is not None and lo <= GOAL_LOOPBACK_P50_MS and hi <= GOAL_IMPAIRED_P50_MS
        rows.append((not ok, run["dropouts"]["total_ms"], buffer_ms, lo, hi))
    if not rows:
        return {}
    rows.sort()
    bad, drop_ms, buffer_ms, lo, hi = rows[0]
    return {
        "live_buffer_ms": buffer_ms,
        "meets_goals": not bad,
        "loopback_p50_ms": lo,
        "impaired_p50_ms": hi,
        "impaired_dropout_ms": drop_ms,
        "rule": "p50 <= 1 s on loopback, <= 2 s impaired; then fewest dropout ms; then the smallest buffer",
    }


def bandwidth(listeners: int, window_s: float) -> dict[str, Any]:
    """Return kbit/s per listener and server CPU per codec, for the test signal and with a mic noise floor."""
    out: dict[str, Any] = {}
    codecs = (("flac_48k_mono", "flac"), ("flac_16k_mono", FLAC_16K), ("opus_48kbit_stereo", OPUS))
    for name, codec in codecs:
        for signal, noise in (("tones", None), ("tones_plus_mic_noise_-50dBFS", -50.0)):
            run = fanout_run(
                "snapcast", [listeners], ramp_max_s=30.0, window_s=window_s, codec=codec, noise_dbfs=noise
            )[str(listeners)]
            out[f"{name}/{signal}"] = {
                "per_listener_kbit_s": round(run["per_listener_bytes_per_s"] * 8 / 1000, 1),
                "server_cpu_pct_of_core": run["server_cpu_pct_of_core"],
                "at_1000_listeners_mbit_s": round(run["per_listener_bytes_per_s"] * 8 * 1000 / 1e6, 1),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 3 minutes in all)")
    parser.add_argument("--buffers", default="400,700,1000", help="snapserver buffer sizes, ms")
    parser.add_argument("--parts", default="latency,impaired,fanout,bandwidth,behaviour")
    parser.add_argument("--listeners", default="", help="listener counts (default 0,100,1000; quick 0,100)")
    parser.add_argument(
        "--nice", type=int, default=0, help="run at this priority (children too); < 0 shields from other load"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    exit_cleanly_on_sigterm()
    parts = set(args.parts.split(","))
    buffers = [int(b) for b in args.buffers.split(",")]
    loop_s, bad_s, bh_at = (10.0, 24.0, 10.0) if args.quick else (20.0, 44.0, 24.0)
    sizes = [int(s) for s in (args.listeners or ("0,100" if args.quick else "0,100,1000")).split(",")]
    began, load_start = time.monotonic(), load_1m()
    result: dict[str, Any] = {"bench": "live_engines", "quick": args.quick, "nice": args.nice, **versions()}
    runs = {f"snapcast_{b}": ("snapcast", b, "flac") for b in buffers}
    runs[f"snapcast_opus_{OPUS_BUFFER_MS}"] = ("snapcast", OPUS_BUFFER_MS, OPUS)
    runs[f"snapcast_flac16k_{OPUS_BUFFER_MS}"] = ("snapcast", OPUS_BUFFER_MS, FLAC_16K)
    runs["icecast"] = ("icecast", 0, "mp3")
    loopback: dict[str, Any] = {}
    if "latency" in parts:
        for key, (engine, buffer_ms, codec) in runs.items():
            loopback[key] = stream_run(engine, buffer_ms=buffer_ms, seconds=loop_s, codec=codec)
        result["loopback"] = loopback
    if "impaired" in parts:
        impaired: dict[str, Any] = {}
        for key, (engine, buffer_ms, codec) in runs.items():
            impaired[key] = stream_run(
                engine,
                buffer_ms=buffer_ms,
                seconds=bad_s,
                impairment=Impairment(),
                blackhole_at=bh_at,
                codec=codec,
            )
        result["impaired"] = {
            "profile": Impairment().__dict__,
            "blackhole_s": 5.0,
            "blackhole_at_s": bh_at,
            **impaired,
        }
        result["recommendation"] = recommend(impaired, loopback)
    if "fanout" in parts:
        window = 10.0 if args.quick else 20.0
        result["fanout"] = {"snapcast": fanout_run("snapcast", sizes, ramp_max_s=90.0, window_s=window)}
        if not args.quick:
            result["fanout"]["snapcast_opus_48k"] = fanout_run(
                "snapcast", sizes[-1:], ramp_max_s=90.0, window_s=window, codec=OPUS
            )
            result["fanout"]["icecast"] = fanout_run("icecast", sizes, ramp_max_s=90.0, window_s=window)
    if "bandwidth" in parts:
        result["bandwidth_per_codec"] = bandwidth(10 if args.quick else 50, 5.0 if args.quick else 10.0)
    if "behaviour" in parts:
        result["behaviour"] = {"server_restart": server_restart(700), "stream_switch": stream_switch(700)}
    result["loadavg_1m"] = {"start": load_start, "end": load_1m()}
    result["seconds"] = round(time.monotonic() - began, 1)
    emit("live_engines" + ("_quick" if args.quick else ""), result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
