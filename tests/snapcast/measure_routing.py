"""Measure routing with real snapclients: connect -> on its stream, refresh(), after a snapserver crash.

    python -m tests.snapcast.measure_routing [CLIENTS ...]     (prints one JSON line per client count)

Not a test (pytest does not collect it): numbers for the report, on whatever machine runs it.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from broadcast.snapcast import LiveEngine
from tests.support.snapcast import Listener, snapserver_config


def _until(predicate: object, timeout: float = 30.0) -> float:
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise TimeoutError
        time.sleep(0.005)
    return time.monotonic() - started


def measure(clients: int) -> dict[str, object]:
    table: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = LiveEngine(snapserver_config(Path(tmp), buffer_ms=400), table.get)
        engine.start()
        listeners: list[Listener] = []
        try:
            ids = [f"loa-{k}" for k in range(clients)]
            table.update(dict.fromkeys(ids, "live-1"))
            first_seen: dict[str, float] = {}
            routed_at: dict[str, float] = {}
            listeners = [Listener(engine.stream_port, host_id) for host_id in ids]

            def all_routed() -> bool:
                now = time.monotonic()
                for c in engine.clients():
                    if c.connected:
                        first_seen.setdefault(c.host_id, now)
                        if c.stream_id == "live-1" and c.group_size == 1:
                            routed_at.setdefault(c.host_id, now)
                return len(routed_at) == clients

            all_s = _until(all_routed)
            seen_to_routed = [routed_at[h] - first_seen[h] for h in ids]
            time.sleep(1.0)  # let the connect notifications' routing passes finish
            table.update(dict.fromkeys(ids, "live-2"))
            started = time.monotonic()
            moved = engine.refresh()
            refresh_s = time.monotonic() - started
            assert all(c.stream_id == "live-2" for c in engine.clients() if c.connected)
            table.update(dict.fromkeys(ids, "live-1"))
            engine.server.kill()

            def back() -> bool:
                try:
                    found = [c for c in engine.clients() if c.connected and c.stream_id == "live-1"]
                except Exception:
                    return False
                return len(found) == clients and engine.server.restarts == 1

            restart_s = _until(back)
            return {
                "clients": clients,
                "spawn_to_all_routed_s": round(all_s, 3),
                "first_seen_to_routed_median_s": round(statistics.median(seen_to_routed), 3),
                "first_seen_to_routed_max_s": round(max(seen_to_routed), 3),
                "refresh_moves": moved,
                "refresh_s": round(refresh_s, 3),
                "crash_to_all_rerouted_s": round(restart_s, 3),
            }
        finally:
            for listener in listeners:
                listener.close()
            engine.stop()


if __name__ == "__main__":
    for count in [int(a) for a in sys.argv[1:]] or [1, 10, 30]:
        print(json.dumps(measure(count)), flush=True)
