"""Every N seconds, collect the agent's health and publish it as a Heartbeat on the event topic."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from broadcast import protocol
from broadcast.protocol.config import SettingValue
from edge_agent import health
from edge_agent._loop import Loop
from edge_agent.clock import ClockMonitor

log = logging.getLogger(__name__)

FIRST_DELAY_S = 2.0  # soon after start-up, so the station sees a rebooted Pi at once


@dataclass(frozen=True)
class HealthPaths:
    """Where the collectors read; tests point these at fixture files."""

    uptime: Path = health.PROC_UPTIME
    thermal: Path = health.THERMAL_ROOT
    route: Path = health.PROC_ROUTE
    net: Path = health.NET_ROOT
    wireless: Path = health.PROC_WIRELESS


@dataclass(frozen=True)
class AgentState:
    """What only the running agent knows, sampled for one heartbeat."""

    volume: int | None
    now_playing: str | None
    settings: dict[str, SettingValue] | None = None  # the config overlay in force


def collect(
    device_id: str,
    version: str,
    state_dir: Path,
    cache_dir: Path,
    clock: ClockMonitor,
    agent: AgentState,
    agent_started: float,
    paths: HealthPaths = HealthPaths(),
) -> protocol.Heartbeat:
    """Return a heartbeat describing this device now."""
    reading = clock.reading()
    return protocol.Heartbeat(
        device_id=device_id,
        ts=time.time(),
        uptime_s=round(health.uptime_s(paths.uptime), 1),
        agent_uptime_s=round(time.monotonic() - agent_started, 1),
        cpu_temp_c=health.cpu_temp_c(paths.thermal),
        disk_free_bytes=health.disk_free_bytes(state_dir),
        cache_bytes=health.directory_bytes(cache_dir),
        clock_offset_ms=None if reading.offset_ms is None else round(reading.offset_ms, 3),
        clock_source=reading.source,
        clock_uncertainty_ms=reading.uncertainty_ms,
        ntp_synced=reading.ntp_synced,
        link=health.link_info(paths.route, paths.net, paths.wireless),
        version=version,
        volume=agent.volume,
        now_playing=agent.now_playing,
        settings=agent.settings,
    )


class Vitals:
    """Collect this device's heartbeat: the health collectors plus what the running agent says of itself."""

    def __init__(
        self,
        device_id: str,
        version: str,
        state_dir: Path,
        cache_dir: Path,
        clock: ClockMonitor,
        *,
        volume: Callable[[], int | None],
        now_playing: Callable[[], str | None],
        settings: Callable[[], dict[str, SettingValue]],
        paths: HealthPaths = HealthPaths(),
    ) -> None:
        self.device_id, self.version, self.clock = device_id, version, clock
        self.state_dir, self.cache_dir, self.paths = state_dir, cache_dir, paths
        self._volume, self._now_playing, self._settings = volume, now_playing, settings
        self.started = time.monotonic()

    def collect(self) -> protocol.Heartbeat:
        """Return a heartbeat describing this device and this agent now."""
        state = AgentState(volume=self._volume(), now_playing=self._now_playing(), settings=self._settings())
        return collect(
            self.device_id,
            self.version,
            self.state_dir,
            self.cache_dir,
            self.clock,
            state,
            self.started,
            self.paths,
        )


class HeartbeatLoop(Loop):
    """A thread that publishes collect() every interval_s; poke() sends one now (after a change)."""

    def __init__(
        self,
        interval_s: float,
        collect: Callable[[], protocol.Heartbeat],
        publish: Callable[[protocol.Heartbeat], object],
        first_delay_s: float = FIRST_DELAY_S,
    ) -> None:
        self.interval_s = interval_s
        self.first_delay_s = first_delay_s
        self._collect = collect
        self._publish = publish
        super().__init__("heartbeat")

    def set_interval(self, interval_s: float) -> None:
        """Publish every interval_s from the next heartbeat on (poke() to send one now)."""
        self.interval_s = interval_s

    def poke(self) -> None:
        """Publish a heartbeat now rather than at the next tick."""
        self._wake.set()

    def _run(self) -> None:
        delay = min(self.first_delay_s, self.interval_s)
        while True:
            self._wake.wait(delay)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self._publish(self._collect())
            except Exception:
                # A broken collector must not end the heartbeat: the station would mark us offline.
                log.exception("heartbeat failed")
            delay = self.interval_s
