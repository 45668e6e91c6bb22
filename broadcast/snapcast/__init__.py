"""Live broadcasts carried by Snapcast: the managed snapserver and how the station drives it.

    engine = LiveEngine.from_settings(settings.live, settings.mqtt_bind, lookup)
    engine.start()                      # snapserver up, control connected, clients routed
    engine.input(1).write(pcm)          # s16le mono 48 kHz into channel 1 (stream "live-1")
    engine.refresh()                    # a session started/ended: re-route every client by lookup
    engine.stop()

`lookup(host_id)` answers which stream a device should play: `channel_stream_name(k)` or None
(silence). Agents play with `snapclient -h HOST -p engine.stream_port --hostID <device id>`.
"""

from __future__ import annotations

import logging
import threading

from broadcast.config import LiveSettings
from broadcast.snapcast.config import IDLE_STREAM, SnapserverConfig, channel_stream_name
from broadcast.snapcast.control import ControlError, SnapClient, SnapControl
from broadcast.snapcast.router import LiveRouter, Lookup
from broadcast.snapcast.server import ManagedSnapserver, find_snapserver
from broadcast.snapcast.source import ChannelInput

__all__ = [
    "IDLE_STREAM",
    "ChannelInput",
    "ControlError",
    "LiveEngine",
    "SnapClient",
    "SnapserverConfig",
    "channel_stream_name",
    "find_snapserver",
]

log = logging.getLogger(__name__)


def _nobody(host_id: str) -> str | None:
    return None


class LiveEngine:
    """The managed snapserver, its control connection, the router and one input per channel."""

    def __init__(self, cfg: SnapserverConfig, lookup: Lookup = _nobody) -> None:
        self.cfg = cfg
        self.server = ManagedSnapserver(cfg)
        self.control = SnapControl(cfg.control_port)
        self.router = LiveRouter(self.control, lookup)
        self.control.on_event = self.router.on_event
        self._inputs: dict[int, ChannelInput] = {}
        self._inputs_lock = threading.Lock()

    @classmethod
    def from_settings(cls, live: LiveSettings, mqtt_bind: str, lookup: Lookup = _nobody) -> LiveEngine:
        return cls(SnapserverConfig.from_settings(live, mqtt_bind), lookup)

    @property
    def stream_port(self) -> int:
        return self.cfg.stream_port

    @property
    def channels(self) -> int:
        return self.cfg.channels

    def set_lookup(self, lookup: Lookup) -> None:
        """Replace the answer to 'which stream for this device' (the domain may exist after the engine)."""
        self.router.lookup = lookup

    def start(self, timeout: float = 10.0) -> None:
        """Start snapserver and connect to its control port (raise RuntimeError if it cannot start)."""
        self.server.start(timeout)
        try:
            self.control.start(timeout)
        except ControlError as error:
            self.server.stop()
            raise RuntimeError(f"snapserver started but its control port does not answer: {error}") from None

    def stop(self) -> None:
        """Close the inputs and the control connection, then stop snapserver."""
        with self._inputs_lock:
            inputs, self._inputs = list(self._inputs.values()), {}
        for channel_input in inputs:
            channel_input.close()
        self.control.close()
        self.server.stop()

    def input(self, channel: int) -> ChannelInput:
        """Return the writer into live channel `channel` (1-based), made on first use."""
        port = self.cfg.source_port(channel)
        with self._inputs_lock:
            if channel not in self._inputs:
                self._inputs[channel] = ChannelInput(port)
            return self._inputs[channel]

    def refresh(self) -> int:
        """Re-route every connected client by the lookup; return how many were moved."""
        return self.router.refresh()

    def clients(self) -> list[SnapClient]:
        """Return every client snapserver knows, with its stream (raise ControlError if unreachable)."""
        return self.control.status()
