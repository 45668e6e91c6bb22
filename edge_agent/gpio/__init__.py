"""The amplifier relay: the Relay interface, a NullRelay for machines without GPIO, and make_relay."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

__all__ = ["NullRelay", "Relay", "RelayError", "make_relay"]


class RelayError(RuntimeError):
    """The relay cannot be set up (no GPIO, pin busy, gpiozero missing)."""


class Relay(ABC):
    """A switch in front of the amplifier's power: on, off, and off-and-release on close."""

    @property
    @abstractmethod
    def is_on(self) -> bool:
        """Return True while the amplifier is switched on."""

    @abstractmethod
    def on(self) -> None:
        """Switch the amplifier on."""

    @abstractmethod
    def off(self) -> None:
        """Switch the amplifier off."""

    def close(self) -> None:
        """Switch off and release the hardware; fail-safe, so safe to call twice."""
        self.off()


class NullRelay(Relay):
    """No relay wired (or a test): remembers the state and every switch, touches no hardware."""

    def __init__(self) -> None:
        self._on = False
        self._lock = threading.Lock()
        self.switches: list[bool] = []

    @property
    def is_on(self) -> bool:
        """Return the remembered state."""
        return self._on

    def on(self) -> None:
        """Remember that the relay is on."""
        self._set(True)

    def off(self) -> None:
        """Remember that the relay is off."""
        self._set(False)

    def _set(self, value: bool) -> None:
        with self._lock:
            if self._on != value:
                self._on = value
                self.switches.append(value)


def make_relay(pin: int | None, active_high: bool = True) -> Relay:
    """Return the GPIO relay on BCM pin, or a NullRelay when no pin is configured."""
    if pin is None:
        return NullRelay()
    try:
        # Imported here: gpiozero costs memory and start-up time, and only relay users need it.
        from edge_agent.gpio.relay import GpioRelay
    except ImportError as exc:
        raise RelayError(f"relay pin {pin} configured but gpiozero is missing: {exc}") from exc
    return GpioRelay(pin, active_high=active_high)
