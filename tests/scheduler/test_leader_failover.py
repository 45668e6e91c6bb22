"""Fail-over: two scheduler workers as processes on one database; kill -9 the leader mid-programme.

Run as `python -m tests.scheduler.test_leader_failover URL NAME DIR`, this module is one worker: an
ElectedScheduler whose slot handler appends what fired to DIR/fired.jsonl.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from broadcast.scheduler import jobs
from broadcast.scheduler.elected import SCHEDULER_LOCK, ElectedScheduler, request_message
from broadcast.scheduler.election import LeaderElection
from broadcast.scheduler.service import ProgrammeScheduler
from broadcast.scheduler.slots import SlotRule
from tests.support.station import wait_until

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)
LEAD_S = 10.0  # a one-off may then run up to 8 s late (grace = lead - delivery margin)
PUSH_OFFSETS_S = {1: 1.5, 2: 4.0, 3: 7.0}  # slot -> push time after the plan is sent
KILL_AT_S = 3.5  # slot 2 falls due while no worker leads


def worker(url: str, name: str, directory: Path) -> None:
    """Run one worker until SIGTERM: elect, schedule, record every push."""
    logging.basicConfig(filename=directory / f"{name}.log", level=logging.INFO)
    lock = threading.Lock()

    def record(slot_id: int, start: datetime) -> None:
        line = json.dumps({"slot": slot_id, "start": start.isoformat(), "worker": name, "at": time.time()})
        with lock, (directory / "fired.jsonl").open("a") as handle:
            handle.write(line + "\n")

    def status(state: str) -> None:
        with (directory / f"{name}.status").open("a") as handle:
            handle.write(f"{state} {time.time()}\n")

    jobs.set_slot_handler(record)
    elected = ElectedScheduler(
        lambda: ProgrammeScheduler(url, TZ, LEAD_S),
        url,
        on_elected=lambda scheduler: status("leader"),
        retry_s=0.5,
        check_s=0.5,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    elected.start()
    status("started")
    stop.wait()
    elected.shutdown()


def _states(directory: Path, name: str) -> dict[str, float]:
    path = directory / f"{name}.status"
    if not path.exists():
        return {}
    return {state: float(at) for state, at in (line.split() for line in path.read_text().splitlines())}


def _fired(directory: Path) -> list[dict[str, Any]]:
    path = directory / "fired.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _spawn(url: str, name: str, directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.scheduler.test_leader_failover", url, name, str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=(directory / f"{name}.err").open("wb"),
    )


def test_killing_the_leader_hands_every_slot_to_the_other_worker_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers.append(_spawn(database_url, "a", tmp_path))
        assert wait_until(lambda: "started" in _states(tmp_path, "a"), 20), (tmp_path / "a.err").read_text()
        workers.append(_spawn(database_url, "b", tmp_path))
        assert wait_until(lambda: "started" in _states(tmp_path, "b"), 20), (tmp_path / "b.err").read_text()
        assert "leader" in _states(tmp_path, "a") and "leader" not in _states(tmp_path, "b")

        # Planned the way an API worker that does not lead plans: a request to whoever leads.
        sender = LeaderElection(database_url, SCHEDULER_LOCK, lambda: None, lambda: None)
        base = time.time()
        for slot_id, offset in PUSH_OFFSETS_S.items():
            start = datetime.fromtimestamp(base + offset + LEAD_S, VN)
            sender.send(request_message("add", slot_id, SlotRule(start_at=start)))

        assert wait_until(lambda: any(f["slot"] == 1 for f in _fired(tmp_path)), 10)
        time.sleep(max(0.0, base + KILL_AT_S - time.time()))
        os.kill(workers[0].pid, signal.SIGKILL)
        killed_at = time.time()
        workers[0].wait(timeout=5)

        assert wait_until(lambda: "leader" in _states(tmp_path, "b"), 10)
        takeover_s = _states(tmp_path, "b")["leader"] - killed_at
        assert takeover_s < 3.0, f"the follower took {takeover_s:.1f} s to take over"
        assert wait_until(lambda: len(_fired(tmp_path)) >= 3, base + 15 - time.time())
        time.sleep(1.0)  # a doubled push would show up by now
        fired = _fired(tmp_path)
        assert sorted(f["slot"] for f in fired) == [1, 2, 3], fired
        by_slot = {f["slot"]: f for f in fired}
        assert [by_slot[s]["worker"] for s in (1, 2, 3)] == ["a", "b", "b"]
        for slot_id, offset in PUSH_OFFSETS_S.items():
            # pushed before its start (agents got it in time), at most the take-over late
            late = by_slot[slot_id]["at"] - (base + offset)
            assert -0.5 < late < LEAD_S - 2.0, (slot_id, late)
        assert by_slot[3]["at"] - (base + PUSH_OFFSETS_S[3]) < 1.0  # the new leader runs on time
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
