"""How far this Pi's clock is off: the NTP daemon's own estimate, else the station's clock over HTTP.

Speakers of a zone start on their own clocks, so a clock that is off makes an echo. NTP (chrony or
systemd-timesyncd) knows the offset to a millisecond. Without it the agent asks the station's `/time`
(microseconds) a few times, NTP-style: offset = local midpoint of the request - station time, uncertain
by half the round trip; the best (shortest) sample wins. The HTTP Date header of clip downloads is the last
resort: it has whole seconds only (and the server refreshes it once a second), so a single reading is
anywhere within about ±1 s — an agent on the station's own machine showed +562 ms from it.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from broadcast.protocol import ClockSource

log = logging.getLogger(__name__)

NTP_WARN_MS = 50.0  # two speakers 50 ms apart already sound like a slap-back echo
HTTP_WARN_MS = 1000.0
PROBE_SAMPLES = 5
PROBE_EVERY_S = 300.0  # ask the station again after this long (each heartbeat reuses the last answer)
PROBE_TIMEOUT_S = 2.0  # the heartbeat waits for the probe: a station out of reach must not hold it long
_TIMESYNC_OFFSET = re.compile(r"^\s*Offset:\s*([+-]?[\d.]+)\s*(us|µs|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}

Runner = Callable[[list[str]], str | None]
Sample = tuple[float, float]  # (offset_ms, uncertainty_ms)
Probe = Callable[[], Sample | None]


@dataclass(frozen=True)
class ClockReading:
    """The best offset estimate (local minus reference, ms), where it came from, and NTP's sync state.

    uncertainty_ms bounds the offset of an estimate made over HTTP (None: the NTP daemon's own).
    """

    offset_ms: float | None = None
    source: ClockSource = ""
    ntp_synced: bool | None = None
    uncertainty_ms: float | None = None


def time_sample(station_now: float, sent_at: float, received_at: float) -> Sample:
    """Return (offset_ms, uncertainty_ms) from one exchange with the station's /time.

    The station read its clock at some instant between our send and receive: taking the midpoint is wrong
    by at most half the round trip.
    """
    return ((sent_at + received_at) / 2 - station_now) * 1000, (received_at - sent_at) / 2 * 1000


def best_sample(samples: list[Sample]) -> Sample | None:
    """Return the sample with the shortest round trip (the least delayed by queues), None if none."""
    return min(samples, key=lambda s: s[1]) if samples else None


def station_probe(station_url: str, samples: int = PROBE_SAMPLES) -> Probe:
    """Return a probe that measures the offset against the station's /time, best of `samples`."""
    url = f"{station_url.rstrip('/')}/time"
    opener = urllib.request.build_opener()

    def probe() -> Sample | None:
        found: list[Sample] = []
        for _ in range(samples):
            request = urllib.request.Request(url, headers={"User-Agent": "loa-edge-agent"})  # noqa: S310
            try:
                sent_at = time.time()
                with opener.open(request, timeout=PROBE_TIMEOUT_S) as response:
                    body = response.read(256)
                received_at = time.time()
                now = json.loads(body)["now"]
            except (OSError, ValueError, KeyError, TypeError):
                break  # an older station without /time, or no link: the Date header remains
            if isinstance(now, int | float):
                found.append(time_sample(float(now), sent_at, received_at))
        return best_sample(found)

    return probe


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

    def __init__(
        self,
        run: Runner = run_tool,
        ntp_warn_ms: float = NTP_WARN_MS,
        probe: Probe | None = None,
        probe_every_s: float = PROBE_EVERY_S,
    ) -> None:
        self._run = run
        self.ntp_warn_ms = ntp_warn_ms  # the station may change it (config command)
        self._probe, self._probe_every_s = probe, probe_every_s
        self._lock = threading.Lock()
        self._http: Sample | None = None
        self._station: tuple[float, Sample | None] | None = None  # (monotonic time of the probe, its answer)
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
        station = self._station_sample()
        with self._lock:
            http = station or self._http
        if http is None:
            return ClockReading(ntp_synced=synced)
        return ClockReading(round(http[0], 1), "http", synced, round(http[1], 1))

    def _station_sample(self) -> Sample | None:
        """Return the station /time estimate, probing again when the last one is old (or failed)."""
        if self._probe is None:
            return None
        now = time.monotonic()
        if self._station is not None and now - self._station[0] < self._probe_every_s:
            return self._station[1]  # a failed probe, too, waits its turn: no stall at every heartbeat
        sample = self._probe()
        self._station = (now, sample)
        if sample is None:
            return None
        offset, uncertainty = sample
        certainly_off = abs(offset) - uncertainty > self.ntp_warn_ms
        if self._changed("station", certainly_off):
            log.warning(
                "clock is %+.0f ms (±%.0f ms) off the station's; speakers may echo", offset, uncertainty
            )
        elif self._cleared("station", certainly_off):
            log.info("clock is back within %.0f ms of the station's: %+.1f ms", self.ntp_warn_ms, offset)
        return sample

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
