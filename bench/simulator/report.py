"""What every simulator benchmark prints and saves: the machine, the versions, one JSON object."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from broadcast.mqtt.broker import find_mosquitto

RESULTS = Path(__file__).resolve().parents[1] / "results"


def environment() -> dict[str, Any]:
    """Return the machine and the versions that shape the numbers."""
    try:
        banner = subprocess.run(
            [find_mosquitto(), "-h"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.splitlines()[0]
    except (OSError, RuntimeError, IndexError, subprocess.SubprocessError):
        banner = "unknown"
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "mosquitto": banner.removeprefix("mosquitto version "),
        "paho_mqtt": metadata.version("paho-mqtt"),
        "cryptography": metadata.version("cryptography"),
    }


def load_1m() -> float:
    """Return the 1-minute load average: other jobs on this machine share its two cores and skew timings."""
    return round(os.getloadavg()[0], 2)


def emit(name: str, result: dict[str, Any], out: Path | None = None) -> None:
    """Print result as one JSON object and write it to bench/results/<name>.json (or out)."""
    text = json.dumps(result, indent=2, ensure_ascii=False)
    target = out or RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n", encoding="utf-8")
    print(text)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `with Fleet(...)` stops the broker and the workers."""

    def stop(signum: int, frame: object) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
