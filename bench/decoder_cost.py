"""What decoding a clip costs the Pi: mpg123 vs ffmpeg, same clip, same run, as the ALSA output runs them.

A 3-minute clip in the station's format (mono 22.05 kHz, 48 kbit/s CBR MP3, libmp3lame) is decoded to
the PCM aplay takes (s16le mono 22.05 kHz) by each decoder's command from edge_agent/outputs, the PCM
read from a pipe as aplay would (here: as fast as it comes). Per run: CPU time (user + system, from the
child's rusage), peak RSS (VmHWM, read while it runs), the time to the first PCM byte (what a play's
start waits for) and the wall time. Runs alternate between the decoders, --repeat times; medians are reported.

ffmpeg is the one the agent would find: a system ffmpeg on PATH, else imageio-ffmpeg's static build
(on this machine: the latter; Debian's shared-library ffmpeg maps more libraries and has a larger RSS).

Usage: python bench/decoder_cost.py [--repeat 7] [--minutes 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.simulator.report import emit, load_1m  # noqa: E402
from edge_agent.outputs import ffmpeg, mpg123  # noqa: E402


def make_clip(ffmpeg_exe: str, path: Path, seconds: float) -> None:
    """Encode a speech-band test signal (a wobbling tone over noise) as the station encodes clips."""
    source = f"aevalsrc='0.3*sin(2*PI*(300+200*sin(2*PI*0.7*t))*t)+0.05*(random(0)-0.5)':s=22050:d={seconds}"
    subprocess.run(
        [
            ffmpeg_exe,
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
            "-ac",
            "1",
            "-ar",
            "22050",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "48k",
            str(path),
        ],
        check=True,
        timeout=300,
    )


def _hwm_kib(pid: int) -> int:
    """Return the process's peak RSS so far (VmHWM; 0 once it has exited).

    Not rusage's ru_maxrss: the child was forked from this Python process, and that counts its image too.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_once(command: list[str]) -> dict[str, float]:
    """Run one decode with stdout on a pipe; return CPU s, peak RSS MiB, first-byte s, wall s, PCM bytes."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert process.stdout is not None
    fd = process.stdout.fileno()
    first = os.read(fd, 65536)
    first_at = time.monotonic() - started
    total, peak_kib = len(first), _hwm_kib(process.pid)
    while chunk := os.read(fd, 65536):
        total += len(chunk)
        peak_kib = max(peak_kib, _hwm_kib(process.pid))
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {process.returncode}")
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": peak_kib / 1024,
        "first_pcm_s": first_at,
        "wall_s": time.monotonic() - started,
        "pcm_bytes": total,
    }


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    keys = ("cpu_s", "peak_rss_mib", "first_pcm_s", "wall_s")
    result: dict[str, Any] = {key: round(statistics.median(run[key] for run in runs), 4) for key in keys}
    result["cpu_s_min_max"] = [
        round(min(r["cpu_s"] for r in runs), 4),
        round(max(r["cpu_s"] for r in runs), 4),
    ]
    result["pcm_bytes"] = runs[0]["pcm_bytes"]
    return result


def version(command: list[str]) -> str:
    out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    mpg123_exe = mpg123.find_mpg123()
    if mpg123_exe is None:
        raise SystemExit("mpg123 not installed (apt-get install mpg123)")
    ffmpeg_exe = ffmpeg.find_ffmpeg()
    load_before = load_1m()
    with tempfile.TemporaryDirectory(prefix="decoder-cost-") as tmp:
        clip = Path(tmp) / "clip.mp3"
        make_clip(ffmpeg_exe, clip, args.minutes * 60)
        commands = {
            "mpg123": mpg123.decode_command(mpg123_exe, clip),
            "ffmpeg": ffmpeg.decode_command(ffmpeg_exe, clip),
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():  # alternated: a load spike hits both alike
                runs[name].append(run_once(command))
        clip_bytes = clip.stat().st_size
    result = {name: summary(found) for name, found in runs.items()}
    emit(
        "decoder_cost",
        {
            "bench": "decoder_cost",
            "clip": {
                "seconds": args.minutes * 60,
                "bytes": clip_bytes,
                "format": "MP3 mono 22050 Hz 48 kbit/s",
            },
            "output": "s16le mono 22050 Hz on a pipe",
            "repeat": args.repeat,
            **result,
            "cpu_ratio_ffmpeg_over_mpg123": round(result["ffmpeg"]["cpu_s"] / result["mpg123"]["cpu_s"], 2),
            "rss_ratio_ffmpeg_over_mpg123": round(
                result["ffmpeg"]["peak_rss_mib"] / result["mpg123"]["peak_rss_mib"], 2
            ),
            "versions": {
                "mpg123": version([mpg123_exe, "--version"]),
                "ffmpeg": f"{ffmpeg_exe}: " + version([ffmpeg_exe, "-version"]),
            },
            "load_1m": [load_before, load_1m()],
        },
    )


if __name__ == "__main__":
    main()
