"""The managed snapserver: its generated config, start and stop, restart after a crash, and the tether."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from broadcast.config import Settings
from broadcast.snapcast.config import SnapserverConfig, channel_stream_name, render_config
from broadcast.snapcast.server import ManagedSnapserver, find_snapserver
from tests.support.snapcast import running_snapserver, snapserver_config
from tests.support.station import wait_until

GONE_WITHIN_S = 3.0


def _alive(pid: int) -> bool:
    """Return True while pid runs (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_config_from_settings_puts_control_and_inputs_on_loopback_after_the_stream_port(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, mqtt_bind="0.0.0.0", live_port=18840, live_channels=3)  # noqa: S104
    cfg = SnapserverConfig.from_settings(settings.live, settings.mqtt_bind)
    assert (cfg.bind, cfg.stream_port, cfg.control_port) == ("0.0.0.0", 18840, 18841)  # noqa: S104
    assert cfg.source_ports == (18842, 18843, 18844) and cfg.source_port(3) == 18844
    assert cfg.state_dir == tmp_path / "snapserver" and cfg.buffer_ms == settings.live_buffer_ms
    assert cfg.stream_names == ("idle", "live-1", "live-2", "live-3")
    bound = Settings(data_dir=tmp_path, live_bind="10.0.0.5")
    assert SnapserverConfig.from_settings(bound.live, "127.0.0.1").bind == "10.0.0.5"
    with pytest.raises(ValueError, match="no live channel 4"):
        cfg.source_port(4)
    with pytest.raises(ValueError, match="count from 1"):
        channel_stream_name(0)

    conf = render_config(cfg)
    sections = [line for line in conf.splitlines() if line.startswith("[")]
    assert sections == ["[server]", "[http]", "[tcp]", "[stream]", "[logging]"]
    tcp = conf.split("[tcp]")[1].split("[stream]")[0]
    assert "bind_to_address = 127.0.0.1" in tcp and "port = 18841" in tcp
    assert "[http]\nenabled = false" in conf
    sources = [line.split(" = ", 1)[1] for line in conf.splitlines() if line.startswith("source = ")]
    assert sources[0] == f"pipe://{(tmp_path / 'snapserver').resolve()}/idle.fifo?name=idle&mode=create"
    assert sources[1:] == [f"tcp://127.0.0.1:{18841 + k}?name=live-{k}&mode=server" for k in (1, 2, 3)]
    for line in ("bind_to_address = 0.0.0.0", "port = 18840", "sampleformat = 16000:16:1", "codec = flac"):
        assert line in conf.split("[stream]")[1]
    assert "send_to_muted = false" in conf and "sink = stderr" in conf
    assert f"datadir = {(tmp_path / 'snapserver').resolve()}/data" in conf


def test_a_missing_snapserver_is_named() -> None:
    with pytest.raises(RuntimeError, match=r"'snapserver-nowhere' not found: .*apt-get install snapserver"):
        find_snapserver("snapserver-nowhere")


@pytest.mark.integration
def test_snapserver_starts_with_every_port_restarts_after_a_crash_and_stops(tmp_path: Path) -> None:
    with running_snapserver(tmp_path / "snap") as server:
        cfg = server.cfg
        ports = (cfg.stream_port, cfg.control_port, *cfg.source_ports)
        assert all(_listens(port) for port in ports)
        assert cfg.conf_path.read_text() == render_config(cfg)
        assert (tmp_path / "snap").stat().st_mode & 0o077 == 0  # the idle fifo is the station's alone
        first = server.pid
        assert first is not None and first != server.tether_pid and _alive(first)
        assert int(cfg.pid_path.read_text()) == first
        assert b"snapserver" in Path(f"/proc/{first}/cmdline").read_bytes()

        server.kill()  # a crash: the tether exits with it and the supervisor starts a new pair
        assert wait_until(lambda: server.restarts == 1 and server.pid not in (None, first), 15)
        assert not _alive(first) and all(_listens(port) for port in ports)
        second = server.pid
        assert second is not None
    assert not _alive(second) and not cfg.pid_path.exists()
    assert not any(_listens(port) for port in ports)
    assert "Snapserver terminated" in cfg.log_path.read_text()


_PARENT = """
import sys, time
from pathlib import Path
from broadcast.snapcast.config import SnapserverConfig
from broadcast.snapcast.server import ManagedSnapserver
stream, control, source = map(int, sys.argv[2:5])
cfg = SnapserverConfig("snapserver", Path(sys.argv[1]), "127.0.0.1", stream, control, (source,), 400)
server = ManagedSnapserver(cfg)
server.start()
print(server.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.integration
def test_a_killed_station_leaves_no_snapserver_and_its_ports_are_free_again(tmp_path: Path) -> None:
    cfg = snapserver_config(tmp_path / "snap", channels=1)
    ports = (cfg.stream_port, cfg.control_port, cfg.source_ports[0])
    argv = [str(cfg.state_dir), *map(str, ports)]
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        killed = time.monotonic()
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_until(lambda: not _alive(pid), GONE_WITHIN_S), "snapserver outlived a SIGKILLed station"
        print(f"snapserver gone {time.monotonic() - killed:.2f} s after the station's SIGKILL")
        assert parent.stderr is not None
        assert (
            f"tether: the station is gone: stopping snapserver (pid {pid})" in parent.stderr.read().decode()
        )
        assert wait_until(lambda: not cfg.pid_path.exists(), 5), "the tether left the pid file behind"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()

    server = ManagedSnapserver(cfg)  # the same ports and directory: nothing left over stands in the way
    server.start()
    try:
        assert all(_listens(port) for port in ports)
    finally:
        server.stop()


@pytest.mark.integration
def test_snapserver_ends_even_when_its_tether_is_killed(tmp_path: Path) -> None:
    with running_snapserver(tmp_path / "snap", channels=1) as server:
        pid, tether = server.pid, server.tether_pid
        assert pid is not None and tether is not None
        os.kill(tether, signal.SIGKILL)  # PR_SET_PDEATHSIG, set by the tether, sends snapserver SIGTERM
        assert wait_until(lambda: not _alive(pid), GONE_WITHIN_S)
