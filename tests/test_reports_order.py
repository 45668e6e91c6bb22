"""Reports applied out of order (shared subscriptions hand them out round-robin) keep the newest state."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from broadcast import protocol, reports
from broadcast.protocol.health import Heartbeat
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Device, DevicePresence, Play, Zone

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


def status(state: str, ts: float, version: str = "0.2.0", will: bool | None = None) -> protocol.DeviceStatus:
    """A status; will=None is what agents older than the `will` flag send (offline then counts as a will)."""
    return protocol.DeviceStatus(DEVICE, state, "thon-1", version, ts, will)  # type: ignore[arg-type]


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
        (status("offline", 100, will=True), 200.0, False),
        (status("offline", 100, will=False), 200.0, True),  # a goodbye the agent sent is ordered by time
        (status("offline", 300, will=False), 200.0, False),
        (status("online", 100, will=False), 200.0, True),
        (play(100), 200.0, True),
        (play(300), 200.0, False),
        (protocol.CommandReceived(DEVICE, "c", 100), 200.0, True),
        (protocol.CommandRejected(DEVICE, "c", "expired"), 200.0, False),
    ],
)
def test_which_reports_are_stale(message: protocol.AgentMessage, newest: float | None, stale: bool) -> None:
    assert reports.is_stale(message, newest) is stale


@pytest.mark.parametrize("will", [True, False, None])
def test_the_will_flag_travels_and_old_agents_send_none(will: bool | None) -> None:
    body = json.loads(protocol.encode_agent_message(status("offline", 5, will=will)))
    assert protocol.parse_agent_message(json.dumps(body).encode(), DEVICE) == status("offline", 5, will=will)
    del body["will"]  # an agent older than the flag does not send the key
    assert protocol.parse_agent_message(json.dumps(body).encode(), DEVICE) == status("offline", 5)
    with pytest.raises(protocol.ProtocolError, match="will"):
        protocol.parse_agent_message(json.dumps({**body, "will": "yes"}).encode(), DEVICE)


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
    will = status("offline", 10)  # written when the agent started at 10, published by the broker now
    device = _apply(db, status("online", 10), heartbeat(200), will)
    assert not device.online
    device = _apply(db, status("online", 400), heartbeat(430))  # reconnected
    assert device.online


def test_late_play_reports_are_recorded_without_changing_the_state(db: Database) -> None:
    device = _apply(db, heartbeat(200), status("offline", 300), play(150))
    assert not device.online
    with db.session() as session:
        assert session.query(Play).filter_by(device_id=DEVICE, outcome="played").count() == 1


def _race(
    db: Database,
    database_url: str,
    rounds: int,
    message: Callable[[int], protocol.AgentMessage],
    read: Callable[[Device], object],
    workers: int = 4,
) -> list[object]:
    """Each round, `workers` threads apply message(k * workers + n) at once; return read(device) per round."""
    seen: list[object] = []

    def snapshot() -> None:  # runs once every worker has committed its report of the round
        with db.session() as session:
            device = session.get(Device, DEVICE)
            seen.append(read(device) if device else None)

    barrier = threading.Barrier(workers, action=snapshot)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        own = Database(database_url)  # its own engine and connections, like a worker process
        try:
            for k in range(rounds):
                barrier.wait()  # every round: all workers apply a report of the device at once
                with own.session() as session:
                    reports.apply_message(session, message(k * workers + n))
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
    return seen[1:]


def test_workers_applying_one_device_at_once_keep_the_newest(db: Database, database_url: str) -> None:
    workers, rounds = 4, 40
    seen = _race(
        db,
        database_url,
        rounds,
        lambda number: heartbeat(1000 + number, cache_bytes=number),
        lambda device: device.health.get("cache_bytes"),
        workers,
    )
    assert seen == [k * workers + workers - 1 for k in range(rounds)]  # never an older one over it


def test_workers_applying_statuses_and_heartbeats_at_once_keep_the_newest(
    db: Database, database_url: str
) -> None:
    workers, rounds = 4, 30

    def message(number: int) -> protocol.AgentMessage:  # the newest of a round: a goodbye or a hello
        k, n = divmod(number, workers)
        if n < workers - 1:
            return heartbeat(1000 + number, cache_bytes=number)
        return status("offline" if k % 2 else "online", 1000 + number, will=False)

    seen = _race(db, database_url, rounds, message, lambda device: (device.online, device.report_ts), workers)
    assert seen == [(k % 2 == 0, 1000.0 + k * workers + workers - 1) for k in range(rounds)]
    with db.session() as session:  # every heartbeat counted, stale or not
        assert session.scalar(select(func.sum(DevicePresence.heartbeats))) == rounds * (workers - 1)


def test_the_newest_report_time_is_stored_with_the_state(db: Database) -> None:
    device = _apply(db, heartbeat(200), play(150), heartbeat(190))
    assert device.report_ts == 200 and device.health["ts"] == 200
    device = _apply(db, play(250))
    assert device.report_ts == 250 and device.health["ts"] == 200


def test_a_goodbye_is_ordered_like_any_report(db: Database) -> None:
    # Stopped at 300 (its goodbye), started again: online at 400, a heartbeat; the goodbye comes last.
    device = _apply(
        db,
        heartbeat(290),
        status("online", 400, will=False),
        heartbeat(410),
        status("offline", 300, will=False),
    )
    assert device.online and device.report_ts == 410
    device = _apply(db, status("offline", 500, will=False), status("online", 450, will=False))
    assert not device.online  # an older hello after a goodbye does not bring it back


def test_a_will_makes_reports_from_before_it_was_set_stale(db: Database) -> None:
    # The agent restarted at 500 and died at once: its will (written at 500) overtakes an old heartbeat.
    device = _apply(db, heartbeat(200), status("offline", 500, will=True), heartbeat(300))
    assert not device.online and device.report_ts == 500 and device.health["ts"] == 200
    device = _apply(db, status("online", 520, will=False))
    assert device.online


def test_a_will_keeps_the_version_and_a_rejection_changes_no_state(db: Database) -> None:
    device = _apply(db, heartbeat(200, "0.3.0"), status("offline", 10, "0.1.0", will=True))
    assert (device.online, device.version, device.report_ts) == (False, "0.3.0", 200)
    before = device.last_seen
    device = _apply(db, protocol.CommandRejected(DEVICE, "c", "expired"))  # no time: cannot be ordered
    assert not device.online and device.last_seen is not None and before is not None
    assert device.last_seen > before


def test_unknown_and_revoked_devices_are_refused_whole(db: Database) -> None:
    with pytest.raises(protocol.ProtocolError, match="unknown"):
        _apply(db, replace(heartbeat(100), device_id="khong-co"))
    with db.session() as session:
        device = session.get(Device, DEVICE)
        assert device is not None
        device.revoked = True
    for message in (heartbeat(300), play(300), status("online", 300, will=False)):
        with pytest.raises(protocol.ProtocolError, match="revoked"):
            _apply(db, message)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Play)) == 0
        assert session.scalar(select(func.count()).select_from(DevicePresence)) == 0
        device = session.get(Device, DEVICE)
        assert device is not None and device.report_ts is None and device.last_seen is None


def test_an_agent_clock_set_far_ahead_does_not_freeze_the_state_once_corrected(db: Database) -> None:
    now = time.time()
    ahead = now + 10 * 365 * 86400  # e.g. set by hand to a wrong year
    device = _apply(db, heartbeat(ahead, cache_bytes=1), heartbeat(ahead + 30, cache_bytes=2))
    assert device.health["cache_bytes"] == 2  # still ordered in arrival, never stuck
    assert device.report_ts is not None and device.report_ts <= time.time() + reports.CLOCK_AHEAD_S
    device = _apply(db, heartbeat(now, cache_bytes=3))  # corrected: stale for at most CLOCK_AHEAD_S
    assert device.health["cache_bytes"] == 2
    device = _apply(db, heartbeat(now + reports.CLOCK_AHEAD_S + 5, cache_bytes=4))
    assert device.health["cache_bytes"] == 4 and device.online
