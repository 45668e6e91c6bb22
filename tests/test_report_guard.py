"""The guard in front of report ingest: per-device rate, lanes, drop streaks (pure, clock injected)."""

from __future__ import annotations

import threading
import time

import pytest

from broadcast import protocol
from broadcast.limits.token_bucket import Rate
from broadcast.mqtt.client import MqttTarget, StationMqtt
from broadcast.mqtt.report_guard import DropLedger, ReportGuard, UrgentIds, command_id_of, device_of, lane_of


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _play(device: str, command_id: str) -> bytes:
    report = protocol.PlayReport(device, command_id, "a" * 64, 1.0, 1.0, "normal")
    return protocol.encode_agent_message(report)


def _received(device: str, command_id: str) -> bytes:
    return protocol.encode_agent_message(protocol.CommandReceived(device, command_id, 1.0))


@pytest.mark.parametrize(
    ("topic", "device"),
    [
        ("loa/v1/dev/loa-1/event", "loa-1"),
        ("loa/v1/dev/loa-1/status", "loa-1"),
        ("loa/v1/zone/thon-1/cmd", None),
        ("loa/v1/dev//event", None),
        ("loa/v1/dev/a/b/c", None),
    ],
)
def test_device_of_reads_the_topic_only(topic: str, device: str | None) -> None:
    assert device_of(topic) == device


def test_lanes_urgent_for_receipts_and_live_alert_commands() -> None:
    live = {"alert-1"}
    assert lane_of(_received("loa-1", "anything"), live.__contains__) == "urgent"
    assert lane_of(_play("loa-1", "alert-1"), live.__contains__) == "urgent"
    assert lane_of(_play("loa-1", "bulletin-7"), live.__contains__) == "normal"
    heartbeat = b'{"device_id":"loa-1","type":"heartbeat","ts":1}'
    assert lane_of(heartbeat, live.__contains__) == "normal"
    assert lane_of(b'{"type": "received", "command_id": "x"}', live.__contains__) == "urgent"  # spaces
    assert command_id_of(_play("loa-1", "c-42")) == "c-42"
    assert command_id_of(b'{"command_id":"' + b"x" * 65 + b'"}') is None  # longer than any id


def test_urgent_ids_expire_and_stay_bounded() -> None:
    clock = Clock()
    ids = UrgentIds(clock, max_ids=3)
    ids.remember("a", clock.now + 10)
    assert ids("a") and not ids("b")
    clock.now += 11
    assert not ids("a")
    for name in "bcde":
        ids.remember(name, clock.now + 100)
    assert ids("e") and ids("d")
    assert sum(ids(n) for n in "abcde") == 3


def test_rate_is_per_device() -> None:
    clock = Clock()
    guard = ReportGuard(Rate(per_minute=60, burst=5), clock)
    assert [guard.admit("loa-1") for _ in range(7)] == [True] * 5 + [False] * 2
    assert guard.admit("loa-2")  # another device has its own bucket
    clock.now += 1.0  # one token a second
    assert guard.admit("loa-1")
    assert not guard.admit("loa-1")
    assert guard.ledger.counts()["rate"] == 3


def test_drop_streaks_are_flagged_once_and_end_after_a_quiet_gap() -> None:
    clock = Clock()
    ledger = DropLedger(clock, gap_s=60.0)
    first = [ledger.drop("loa-1", "rate") for _ in range(25)]
    assert first == [True] + [False] * 24  # logged once per streak
    ledger.drop("loa-2", "unknown_command")  # below the threshold: not flagged
    (streak,) = ledger.take(min_total=20)
    assert (streak.device_id, streak.new, streak.dropped, streak.total) == ("loa-1", True, 25, 25)
    assert streak.reasons == {"rate": 25}
    assert ledger.take(20) == []  # nothing new
    clock.now += 30
    ledger.drop("loa-1", "queue")
    (more,) = ledger.take(20)
    assert (more.new, more.dropped, more.total, more.reasons) == (False, 1, 26, {"queue": 1})
    clock.now += 61
    assert ledger.take(20) == []  # the streak ended: forgotten
    assert ledger.drop("loa-1", "rate") is True  # a new one starts
    assert ledger.counts() == {"rate": 26, "queue": 1, "unknown_command": 1}


def _client(guard: ReportGuard, normal_queue: int = 5_000) -> StationMqtt:
    return StationMqtt(MqttTarget("127.0.0.1", 1, None, None), guard=guard, normal_queue=normal_queue)


def test_a_full_normal_lane_drops_and_counts_but_takes_urgent_reports() -> None:
    guard = ReportGuard(Rate(per_minute=0, burst=1))  # no rate: only the lane bound is tried here
    client = _client(guard, normal_queue=10)
    topic = protocol.device_event_topic("loa-1")
    taken = [client.offer(topic, _play("loa-1", f"junk-{n}")) for n in range(15)]
    assert taken == [True] * 10 + [False] * 5
    assert client.offer(protocol.device_event_topic("loa-2"), _received("loa-2", "alert-1"))
    assert client.queue_depths() == {"urgent": 1, "normal": 10}
    assert guard.ledger.counts()["queue"] == 5


def test_an_alert_ack_is_handled_before_a_backlog_of_ordinary_reports() -> None:
    guard = ReportGuard(Rate(per_minute=0, burst=1))
    client = _client(guard)
    handled: list[str] = []
    lock = threading.Lock()

    def handle(topic: str, payload: bytes) -> None:
        if b"received" not in payload:
            time.sleep(0.005)  # an ordinary report's database transaction
        with lock:
            handled.append(command_id_of(payload) or "")

    client.on_agent_message(handle)
    topic = protocol.device_event_topic("loa-1")
    for n in range(300):
        assert client.offer(topic, _play("loa-1", f"junk-{n}"))
    client.start_consumers()
    assert client.offer(protocol.device_event_topic("loa-2"), _received("loa-2", "alert-1"))
    deadline = time.monotonic() + 30
    while "alert-1" not in handled and time.monotonic() < deadline:
        time.sleep(0.01)
    client.stop()
    assert "alert-1" in handled
    # The ack did not wait for the 300 ordinary reports ahead of it (1.5 s of work in one lane).
    assert handled.index("alert-1") < 150, handled.index("alert-1")


@pytest.mark.parametrize("kind", ["alert", "alert_speech", "cancel"])
def test_publishing_an_alert_makes_its_reports_urgent(kind: str) -> None:
    guard = ReportGuard()
    client = _client(guard)
    body = {"v": 1, "kind": kind, "id": "alert-9", "expires_at": time.time() + 60, "sig": "x"}
    client._note_urgent(protocol.canonical_json(body))  # what publish() does before sending
    assert guard.lane(_play("loa-1", "alert-9")) == "urgent"
    play = {"v": 1, "kind": "play", "id": "play-9", "expires_at": time.time() + 60}
    client._note_urgent(protocol.canonical_json(play))
    assert guard.lane(_play("loa-1", "play-9")) == "normal"
