"""Station side of an emergency alert: POST /api/alerts -> normalised, spoken, encoded, signed, published.

Runs an in-process station (real SQLite, managed Mosquitto, espeak-ng, ffmpeg) and times the POST until the
broker acknowledged the alert on the zone topic. Add bench.alert_latency's publish -> audio-start figures
for the whole click-to-loudspeaker time. Prints one JSON object; writes bench/results/alert_post.json.

Usage: python -m bench.alert_post [N]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts
from tests.support.free_port import free_port

TEXTS = (
    "Lũ quét ở thượng nguồn, bà con ven suối sơ tán ngay!",
    "Cháy lớn tại chợ xã, đề nghị bà con tránh xa khu vực chợ.",
    "Bão số 3 đổ bộ trong 2 giờ tới, bà con chằng chống nhà cửa ngay.",
)


def run(count: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=tmp / "var", mqtt_port=free_port(), public_url="http://127.0.0.1:1")
    with TestClient(create_app(settings)) as client:
        station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
            devices.add_device(session, settings.broker, "loa-1", "thon-1", tmp / "s", "file:p", "bench")
            token = accounts.issue_token(session, "chutich")
        headers = {"Authorization": f"Bearer {token}"}
        times: list[float] = []
        for n in range(count):
            body = {"text": f"{TEXTS[n % len(TEXTS)]} Lần {n}.", "repeat": 1}  # new text: no cache hit
            started = time.perf_counter()
            response = client.post("/api/alerts", json=body, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 201:
                raise SystemExit(response.text)
    times.sort()
    return {
        "benchmark": "alert_post",
        "alerts": count,
        "post_to_published_ms": {
            "p50": round(statistics.median(times), 1),
            "p90": round(times[int(0.9 * (count - 1))], 1),
            "max": round(times[-1], 1),
        },
        "includes": "validation, normalise, espeak-ng, loudness + MP3 encode, DB, sign, publish with PUBACK",
    }


def main() -> int:
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
    out = Path(__file__).resolve().parent / "results" / "alert_post.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
