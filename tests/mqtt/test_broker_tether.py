"""The managed Mosquitto dies with its station, however the station dies, and still reloads and restarts."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.credentials import DeviceCredential, hash_password, render_passwd
from broadcast.storage.files import write_atomic
from tests.security.broker_support import Probe
from tests.support.free_port import free_port
from tests.support.station import StationProcess, wait_until

pytestmark = pytest.mark.integration

GONE_WITHIN_S = 2.0


def _alive(pid: int) -> bool:
    """Return True while pid runs (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _broker_pid(data_dir: Path) -> int:
    pid = int((data_dir / "mosquitto" / "mosquitto.pid").read_text())
    assert b"mosquitto" in Path(f"/proc/{pid}/cmdline").read_bytes()  # mosquitto's pid, not the tether's
    return pid


def test_a_killed_station_takes_its_broker_along_and_a_clean_stop_still_works(tmp_path: Path) -> None:
    station = StationProcess(tmp_path / "station")
    station.data_dir.mkdir()
    station.start()
    try:
        pid = _broker_pid(station.data_dir)
        assert station.process is not None
        killed = time.monotonic()
        station.process.send_signal(signal.SIGKILL)
        station.process.wait(timeout=10)
        assert wait_until(lambda: not _alive(pid), GONE_WITHIN_S), "mosquitto outlived a SIGKILLed station"
        print(f"broker gone {time.monotonic() - killed:.2f} s after the station's SIGKILL")
        assert f"tether: the station is gone: stopping mosquitto (pid {pid})" in station.log_tail()
        pidfile = station.data_dir / "mosquitto" / "mosquitto.pid"
        # The tether removes the pid file just after it reaped mosquitto: on a busy machine, a moment later.
        assert wait_until(lambda: not pidfile.exists(), 5), "the tether left mosquitto's pid file behind"

        station.start()  # same ports and data dir: nothing left over stands in the way
        pid = _broker_pid(station.data_dir)
        station.stop()  # SIGTERM: the station shuts down and stops the broker itself, before it exits
        assert not _alive(pid)
        gone = f"tether: the station is gone: stopping mosquitto (pid {pid})"
        assert gone not in station.log_tail(), station.log_tail()  # stopped by the station, not by its death
        assert not (station.data_dir / "mosquitto" / "mosquitto.pid").exists()
    finally:
        station.stop()


@pytest.fixture
def broker(tmp_path: Path) -> ManagedBroker:
    config = BrokerConfig(directory=tmp_path / "broker", port=free_port())
    write_credentials(config, hash_password("mat-khau-tram"), [])
    return ManagedBroker(config)


def _connect(broker: ManagedBroker, username: str, password: str) -> str | None:
    probe = Probe(username, username, password)
    try:
        return probe.connect("127.0.0.1", broker.config.port)
    finally:
        probe.close()


def test_sighup_reaches_mosquitto_through_the_tether_and_a_crash_is_restarted(broker: ManagedBroker) -> None:
    broker.start()
    try:
        first = broker.pid
        assert first is not None and first != broker.tether_pid
        # An account added to passwd works only once mosquitto has re-read it (what revocation relies on).
        device = DeviceCredential("loa-moi", hash_password("mat-khau-loa"), ("thon-1",))
        passwd = render_passwd(hash_password("mat-khau-tram"), [device])
        write_atomic(broker.config.passwd_path, passwd, mode=0o600)  # written without a signal
        assert _connect(broker, "loa-moi", "mat-khau-loa") == "Not authorized"
        broker.reload()
        assert wait_until(lambda: _connect(broker, "loa-moi", "mat-khau-loa") is None, 5)
        assert broker.pid == first  # reloaded in place, not restarted

        broker.kill()  # mosquitto crashes: the tether exits with it and the supervisor starts a new pair
        assert wait_until(lambda: broker.restarts == 1 and broker.pid not in (None, first), 10)
        assert _alive(broker.pid or 0) and not _alive(first)
    finally:
        broker.stop()
    assert not broker.config.pid_path.exists()


def test_mosquitto_ends_even_when_its_tether_is_killed(broker: ManagedBroker) -> None:
    broker.start()
    try:
        pid, tether = broker.pid, broker.tether_pid
        assert pid is not None and tether is not None
        os.kill(tether, signal.SIGKILL)  # PR_SET_PDEATHSIG, set by the tether, sends mosquitto SIGTERM
        assert wait_until(lambda: not _alive(pid), GONE_WITHIN_S)
    finally:
        broker.stop()
