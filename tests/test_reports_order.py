"""Reports applied out of order (shared subscriptions hand them out round-robin) keep the newest state."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from broadcast import protocol, reports
from broadcast.protocol_health import Heartbeat
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Device, Play, Zone

DEVICE = "loa-1"


def heartbeat(ts: float, version: str = "0.2.0", cache_bytes: int = 0) -> Heartbeat:
    return Heartbeat(
        device_id=DEVICE,
        ts=ts,
        uptime_s=100.0,
        agent_uptime_s=50.0,
        cpu_temp_c=None,
        disk_free_bytes=1,
        cache_bytes=cache_bytes,
        clock_offset_ms=None,
        clock_source="ntp",
        ntp_synced=True,
        version=version,
    )


def status(state: str, ts: float, version: str = "0.2.0") -> protocol.DeviceStatus:
    return protocol.DeviceStatus(DEVICE, state, "thon-1", version, ts)  # type: ignore[arg-type]


def play(started_at: float) -> protocol.PlayReport:
    return protocol.PlayReport(DEVICE, f"cmd-{started_at}", "a" * 64, started_at, 3.0, "normal")


@pytest.mark.parametrize(
    ("message", "newest", "stale"),
    [
        (heartbeat(100), None, False),
        (heartbeat(100), 200.0, True),
        (heartbeat(200), 200.0, False),  # a duplicate rewrites the same state
        (heartbeat(300), 200.0, False),
        (status("online", 100), 200.0, True),
        (status("online", 300), 200.0, False),
        (status("online", 0), 200.0, False),  # no time given: cannot be ordered, applied
        (status("offline", 100), 200.0, False),  # a last will carries its connect time: always applied
        (play(100), 200.0, True),
        (play(300), 200.0, False),
        (protocol.CommandReceived(DEVICE, "c", 100), 200.0, True),
        (protocol.CommandRejected(DEVICE, "c", "expired"), 200.0, False),
    ],
)
def test_which_reports_are_stale(message: protocol.AgentMessage, newest: float | None, stale: bool) -> None:
    assert reports.is_stale(message, newest) is stale


@pytest.mark.parametrize(
    ("health", "newest"), [({}, None), ({"ts": 5}, 5.0), ({"ts": "x"}, None), (None, None)]
)
def test_newest_report_ts(health: dict[str, object] | None, newest: float | None) -> None:
    assert reports.newest_report_ts(health) == newest


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate(database_url)
    database = Database(database_url)
    with database.session() as session:
        session.add(Zone(id="thon-1", name="Thôn 1"))
        session.flush()
        session.add(Device(id=DEVICE, zone="thon-1", mqtt_password_hash="x"))
    yield database
    database.dispose()


def _apply(db: Database, *messages: protocol.AgentMessage) -> Device:
    for message in messages:
        with db.session() as session:
            reports.apply_message(session, message)
    with db.session() as session:
        device = session.get(Device, DEVICE)
        assert device is not None
        return device


def test_an_older_heartbeat_does_not_overwrite_a_newer_one(db: Database) -> None:
    device = _apply(db, heartbeat(200, "0.3.0", cache_bytes=2000), heartbeat(100, "0.2.0", cache_bytes=1000))
    assert device.health["ts"] == 200
    assert device.health["cache_bytes"] == 2000
    assert device.version == "0.3.0"
    assert device.online
    assert device.last_seen is not None  # the older report still shows the link is up


def test_an_older_online_status_does_not_undo_a_newer_state(db: Database) -> None:
    device = _apply(db, heartbeat(200, "0.3.0"), status("online", 150, "0.2.0"))
    assert device.version == "0.3.0"
    device = _apply(db, status("offline", 300), heartbeat(190), status("online", 180))
    assert not device.online  # reports from before the newest heartbeat change nothing


def test_a_last_will_applies_whatever_its_time_and_a_reconnect_wins_over_it(db: Database) -> None:
    will = status("offline", 10)  # written when the agent connected at 10, published by the broker now
    device = _apply(db, status("online", 10), heartbeat(200), will)
    assert not device.online
    device = _apply(db, status("online", 400), heartbeat(430))  # reconnected
    assert device.online


def test_late_play_reports_are_recorded_without_changing_the_state(db: Database) -> None:
    device = _apply(db, heartbeat(200), status("offline", 300), play(150))
    assert not device.online
    with db.session() as session:
        assert session.query(Play).filter_by(device_id=DEVICE, outcome="played").count() == 1


def test_workers_applying_one_device_at_once_keep_the_newest(db: Database, database_url: str) -> None:
    workers, rounds = 4, 40
    seen: list[object] = []  # the stored newest report after each round

    def snapshot() -> None:  # runs once every worker has committed its report of the round
        with db.session() as session:
            device = session.get(Device, DEVICE)
            seen.append(device.health.get("cache_bytes") if device else None)

    barrier = threading.Barrier(workers, action=snapshot)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        own = Database(database_url)  # its own engine and connections, like a worker process
        try:
            for k in range(rounds):
                barrier.wait()  # every round: all workers apply a report of the device at once
                with own.session() as session:
                    number = k * workers + n
                    reports.apply_message(session, heartbeat(1000 + number, cache_bytes=number))
            barrier.wait()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert seen[1:] == [k * workers + workers - 1 for k in range(rounds)]  # never an older one over it
