"""How far this Pi's clock is off: the NTP daemon's own estimate, else the clip server's HTTP Date.

Speakers of a zone start on their own clocks, so a clock that is off makes an echo. NTP (chrony or
systemd-timesyncd) knows the offset to a millisecond; the HTTP Date header has whole seconds only, so it
can show a clock that is badly wrong (more than about a second) but never prove one is right.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from broadcast.protocol import ClockSource

log = logging.getLogger(__name__)

NTP_WARN_MS = 50.0  # two speakers 50 ms apart already sound like a slap-back echo
HTTP_WARN_MS = 1000.0
_TIMESYNC_OFFSET = re.compile(r"^\s*Offset:\s*([+-]?[\d.]+)\s*(us|µs|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}

Runner = Callable[[list[str]], str | None]


@dataclass(frozen=True)
class ClockReading:
    """The best offset estimate (local minus reference, ms), where it came from, and NTP's sync state."""

    offset_ms: float | None = None
    source: ClockSource = ""
    ntp_synced: bool | None = None


def http_date_offset(date_header: str, sent_at: float, received_at: float) -> tuple[float, float] | None:
    """Return (offset_ms, uncertainty_ms) of the local clock against a response's Date header.

    The server read its clock at some instant between our send and receive (local sent_at..received_at)
    and truncated it to the second: its true time was in [date, date + 1).
    """
    try:
        server = parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    low, high = sent_at - (server + 1.0), received_at - server
    return (low + high) / 2 * 1000, (high - low) / 2 * 1000


def parse_chronyc_tracking(csv: str) -> tuple[float, bool] | None:
    """Return (offset_ms, synced) from `chronyc -c tracking` output."""
    fields = csv.strip().split(",")
    if len(fields) < 14:
        return None
    try:
        # Field 5 is chrony's correction: positive means the system clock is slow (behind NTP time).
        correction_s = float(fields[4])
    except ValueError:
        return None
    return -correction_s * 1000, fields[13].strip() != "Not synchronised"


def parse_timesync_status(text: str) -> float | None:
    """Return the offset in ms from `timedatectl timesync-status` (systemd-timesyncd)."""
    match = _TIMESYNC_OFFSET.search(text)
    return float(match.group(1)) * _UNIT_MS[match.group(2)] if match else None


def parse_ntp_synchronized(text: str) -> bool | None:
    """Return the value of `timedatectl show -p NTPSynchronized --value`."""
    value = text.strip()
    return {"yes": True, "no": False}.get(value)


def run_tool(command: list[str]) -> str | None:
    """Return a tool's stdout, or None if it is absent, fails or hangs."""
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


class ClockMonitor:
    """Keep the latest HTTP Date estimate; ask the NTP daemon when a heartbeat wants a reading."""

    def __init__(self, run: Runner = run_tool, ntp_warn_ms: float = NTP_WARN_MS) -> None:
        self._run = run
        self.ntp_warn_ms = ntp_warn_ms  # the station may change it (config command)
        self._lock = threading.Lock()
        self._http: tuple[float, float] | None = None
        self._warned: set[str] = set()  # each problem is logged when it starts, not every heartbeat

    def note_http_date(self, date_header: str, sent_at: float, received_at: float) -> None:
        """Record the offset shown by a clip response's Date header; warn if it is certainly over 1 s."""
        estimate = http_date_offset(date_header, sent_at, received_at)
        if estimate is None:
            return
        with self._lock:
            self._http = estimate
        offset, uncertainty = estimate
        certainly_off = abs(offset) - uncertainty > HTTP_WARN_MS
        self._cleared("http", certainly_off)
        if self._changed("http", certainly_off):
            log.warning(
                "clock is %+.1f s (±%.1f s) off the station's (HTTP Date); speakers will not start together",
                offset / 1000,
                uncertainty / 1000,
            )

    def reading(self) -> ClockReading:
        """Return the NTP daemon's offset if one is running, else the last HTTP Date estimate."""
        chrony = self._run(["chronyc", "-c", "tracking"])
        tracking = parse_chronyc_tracking(chrony) if chrony else None
        if tracking is not None:
            return self._checked(ClockReading(tracking[0], "ntp", tracking[1]))
        show = self._run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        synced = parse_ntp_synchronized(show) if show else None
        status = self._run(["timedatectl", "timesync-status"]) if synced is not None else None
        timesync = parse_timesync_status(status) if status else None
        if timesync is not None:
            return self._checked(ClockReading(timesync, "ntp", synced))
        with self._lock:
            http = self._http
        return ClockReading(round(http[0], 1), "http", synced) if http else ClockReading(ntp_synced=synced)

    def _checked(self, reading: ClockReading) -> ClockReading:
        off = reading.offset_ms is not None and abs(reading.offset_ms) > self.ntp_warn_ms
        if self._changed("ntp", off):
            log.warning("clock is %+.1f ms off NTP time; speakers may echo", reading.offset_ms)
        elif self._cleared("ntp", off):
            back = "clock is back within %.0f ms of NTP time: %+.1f ms"
            log.info(back, self.ntp_warn_ms, reading.offset_ms)
        if self._changed("unsynced", reading.ntp_synced is False):
            log.warning("NTP reports the clock as not synchronised")
        elif self._cleared("unsynced", reading.ntp_synced is False):
            log.info("NTP reports the clock as synchronised again")
        return reading

    def _changed(self, problem: str, present: bool) -> bool:
        """Return True if problem has just appeared (logged once per appearance, not every heartbeat)."""
        with self._lock:
            if not present or problem in self._warned:
                return False
            self._warned.add(problem)
            return True

    def _cleared(self, problem: str, present: bool) -> bool:
        """Return True if a problem that was warned about has just gone (and forget it)."""
        with self._lock:
            if present or problem not in self._warned:
                return False
            self._warned.discard(problem)
            return True
