"""Health collectors on fixture /proc and /sys trees, the clock estimates, and the heartbeat loop."""

from __future__ import annotations

import logging
import threading
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from broadcast import protocol
from edge_agent import health
from edge_agent.clock import ClockMonitor, http_date_offset, parse_chronyc_tracking, parse_timesync_status
from edge_agent.heartbeat import AgentState, HealthPaths, HeartbeatLoop, collect

ROUTE_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
WIRELESS = """Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
 wlan0: 0000   70.  -40.  -256        0      0      0      0      0        0
 wlan1: 0000   45.  189.  0           0      0      0      0      0        0
"""
# chronyc -c tracking: ref id, name, stratum, ref time, system time (correction), ... leap status
CHRONY = (
    "C0A80001,192.168.0.1,3,1750000000.123456789,-0.000012000,0.000001,0.000004,-1.2,0.0,0.01,0.01,0.001,"
    "64.2,Normal\n"
)


def _route(*rows: str) -> str:
    return ROUTE_HEADER + "".join(row.replace(" ", "\t") + "\n" for row in rows)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def sys_tree(tmp_path: Path) -> HealthPaths:
    """Return paths to a fake Pi on Wi-Fi: uptime, a CPU thermal zone, routes, wireless, net devices."""
    _write(tmp_path / "thermal" / "thermal_zone0" / "type", "gpu-thermal\n")
    _write(tmp_path / "thermal" / "thermal_zone0" / "temp", "40000\n")
    _write(tmp_path / "thermal" / "thermal_zone1" / "type", "cpu-thermal\n")
    _write(tmp_path / "thermal" / "thermal_zone1" / "temp", "51234\n")
    _write(tmp_path / "net" / "wlan0" / "uevent", "DEVTYPE=wlan\nINTERFACE=wlan0\n")
    return HealthPaths(
        uptime=_write(tmp_path / "uptime", "3600.25 7000.00\n"),
        thermal=tmp_path / "thermal",
        route=_write(
            tmp_path / "route",
            _route(
                "eth0 00000000 0101A8C0 0003 0 0 700 00000000 0 0 0",
                "wlan0 00000000 0101A8C0 0003 0 0 600 00000000 0 0 0",
                "wlan0 0001A8C0 00000000 0001 0 0 600 00FFFFFF 0 0 0",
            ),
        ),
        net=tmp_path / "net",
        wireless=_write(tmp_path / "wireless", WIRELESS),
    )


def test_uptime_and_cpu_temperature(sys_tree: HealthPaths, tmp_path: Path) -> None:
    assert health.uptime_s(sys_tree.uptime) == 3600.25
    assert health.uptime_s(tmp_path / "absent") == 0.0
    assert health.cpu_temp_c(sys_tree.thermal) == 51.2  # the zone named cpu, not the first
    assert health.cpu_temp_c(tmp_path / "no-thermal") is None


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["eth0 00000000 0101A8C0 0003 0 0 100 00000000 0 0 0"], "eth0"),
        (
            ["eth0 00000000 01 0003 0 0 700 00000000 0 0 0", "wwan0 00000000 01 0003 0 0 50 00000000 0 0 0"],
            "wwan0",
        ),
        (["eth0 00000000 0101A8C0 0002 0 0 100 00000000 0 0 0"], None),  # not up
        (["eth0 0001A8C0 00000000 0001 0 0 100 00FFFFFF 0 0 0"], None),  # no default route
        (["garbage"], None),
    ],
)
def test_default_interface(tmp_path: Path, rows: list[str], expected: str | None) -> None:
    assert health.default_interface(_write(tmp_path / "route", _route(*rows))) == expected


@pytest.mark.parametrize(
    ("interface", "uevent", "expected"),
    [
        ("wlan0", "DEVTYPE=wlan\n", "wlan"),
        ("wwan0", "DEVTYPE=wwan\n", "wwan"),
        ("eth0", "INTERFACE=eth0\n", "eth"),
        ("enxb827eb000001", "", "eth"),
        ("wlp2s0", "", "wlan"),
        ("usb0", "", "wwan"),  # a 4G "HiLink" stick
        ("ppp0", "", "wwan"),
        ("tun0", "", "other"),
    ],
)
def test_link_type(tmp_path: Path, interface: str, uevent: str, expected: str) -> None:
    if uevent:
        _write(tmp_path / interface / "uevent", uevent)
    assert health.link_type(interface, tmp_path) == expected


def test_wifi_signal_and_link_info(sys_tree: HealthPaths, tmp_path: Path) -> None:
    assert health.wifi_signal_dbm("wlan0", sys_tree.wireless) == -40.0
    assert health.wifi_signal_dbm("wlan1", sys_tree.wireless) == -67.0  # unsigned-byte drivers
    assert health.wifi_signal_dbm("eth0", sys_tree.wireless) is None
    assert health.link_info(sys_tree.route, sys_tree.net, sys_tree.wireless) == protocol.LinkInfo(
        "wlan", -40.0
    )
    assert health.link_info(tmp_path / "absent", sys_tree.net, sys_tree.wireless) == protocol.LinkInfo("none")


def test_disk_and_cache_sizes(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 1000)
    (tmp_path / "b").write_bytes(b"x" * 234)
    (tmp_path / "sub").mkdir()
    assert health.directory_bytes(tmp_path) == 1234
    assert health.directory_bytes(tmp_path / "absent") == 0
    assert health.disk_free_bytes(tmp_path) > 0


@pytest.mark.parametrize(
    ("server_minus_local", "rtt", "offset_ms", "uncertainty_ms"),
    [
        (0.0, 0.0, -500.0, 500.0),  # Date truncates to the second: ±0.5 s at best
        (-5.0, 0.2, 4600.0, 600.0),  # our clock 5 s ahead
        (3.0, 0.0, -3500.0, 500.0),
    ],
)
def test_http_date_offset(
    server_minus_local: float, rtt: float, offset_ms: float, uncertainty_ms: float
) -> None:
    sent = 1_750_000_000.0  # a whole second, so the truncation is predictable
    date = formatdate(sent + server_minus_local, usegmt=True)
    estimate = http_date_offset(date, sent, sent + rtt)
    assert estimate == pytest.approx((offset_ms, uncertainty_ms))
    assert http_date_offset("not a date", sent, sent) is None


def test_ntp_tool_outputs_are_parsed() -> None:
    assert parse_chronyc_tracking(CHRONY) == pytest.approx((0.012, True))  # correction -12 µs: 12 µs fast
    assert parse_chronyc_tracking(CHRONY.replace("Normal", "Not synchronised"))[1] is False  # type: ignore[index]
    assert parse_chronyc_tracking("506 Cannot talk to daemon") is None
    assert parse_timesync_status("       Server: 10.0.0.1\n       Offset: -1.071ms\n") == pytest.approx(
        -1.071
    )
    assert parse_timesync_status("Offset: +245us") == pytest.approx(0.245)
    assert parse_timesync_status("Offset: -2.5s") == pytest.approx(-2500)
    assert parse_timesync_status("no offset here") is None


def test_clock_monitor_prefers_ntp_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    answers = {"chronyc": CHRONY.replace("-0.000012000", "-0.080000000")}
    monitor = ClockMonitor(run=lambda command: answers.get(command[0]))
    with caplog.at_level(logging.WARNING, "edge_agent.clock"):
        first, second = monitor.reading(), monitor.reading()
    assert first == second
    assert first.offset_ms == pytest.approx(80.0)
    assert (first.source, first.ntp_synced) == ("ntp", True)
    assert [r.message for r in caplog.records] == ["clock is +80.0 ms off NTP time; speakers may echo"]


def test_clock_monitor_logs_each_change_of_state_once(caplog: pytest.LogCaptureFixture) -> None:
    offsets = iter(["-0.080000000", "-0.090000000", "-0.000012000", "-0.000010000", "0.060000000"])
    monitor = ClockMonitor(
        run=lambda command: CHRONY.replace("-0.000012000", next(offsets)) if command[0] == "chronyc" else None
    )
    with caplog.at_level(logging.INFO, "edge_agent.clock"):
        for _ in range(5):
            monitor.reading()
    assert [(r.levelname, r.message) for r in caplog.records] == [
        ("WARNING", "clock is +80.0 ms off NTP time; speakers may echo"),
        ("INFO", "clock is back within 50 ms of NTP time: +0.0 ms"),
        ("WARNING", "clock is -60.0 ms off NTP time; speakers may echo"),
    ]


def test_clock_monitor_falls_back_to_timesyncd_then_http(caplog: pytest.LogCaptureFixture) -> None:
    answers = {"show": "yes\n", "timesync-status": "Offset: +3.5ms\n"}
    monitor = ClockMonitor(
        run=lambda command: answers.get(command[1]) if command[0] == "timedatectl" else None
    )
    assert (monitor.reading().offset_ms, monitor.reading().ntp_synced) == (3.5, True)
    bare = ClockMonitor(run=lambda command: None)
    assert bare.reading().offset_ms is None
    now = time.time()
    with caplog.at_level(logging.WARNING, "edge_agent.clock"):
        bare.note_http_date(formatdate(now - 10, usegmt=True), now, now + 0.05)
    reading = bare.reading()
    assert reading.source == "http" and 9_000 < (reading.offset_ms or 0) < 11_000
    assert "off the station's (HTTP Date)" in caplog.text


def test_collect_builds_a_heartbeat(sys_tree: HealthPaths, tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a").write_bytes(b"x" * 100)
    beat = collect(
        "loa-01", "0.1.0", tmp_path, tmp_path / "clips", ClockMonitor(run=lambda command: None),
        AgentState(volume=70, now_playing=None), time.monotonic() - 5, sys_tree,
    )  # fmt: skip
    assert beat.uptime_s == round(3600.25, 1)
    assert 4.5 < beat.agent_uptime_s < 6
    assert (beat.cpu_temp_c, beat.cache_bytes, beat.link, beat.volume) == (
        51.2,
        100,
        protocol.LinkInfo("wlan", -40.0),
        70,
    )
    assert protocol.parse_agent_message(protocol.encode_agent_message(beat), "loa-01") == beat


def test_heartbeat_loop_publishes_first_soon_then_on_poke() -> None:
    published: list[float] = []
    sent = threading.Event()

    def publish(beat: protocol.Heartbeat) -> None:
        published.append(time.monotonic())
        sent.set()

    def collect_() -> protocol.Heartbeat:
        return protocol.Heartbeat("loa-01", time.time(), 1.0, 1.0, None, 0, 0, None, "", None)

    loop = HeartbeatLoop(60.0, collect_, publish, first_delay_s=0.1)
    started = time.monotonic()
    loop.start()
    assert sent.wait(2)
    sent.clear()
    loop.poke()
    assert sent.wait(2)
    loop.stop()
    assert not loop.is_alive()
    assert len(published) == 2 and 0.08 < published[0] - started < 0.5
