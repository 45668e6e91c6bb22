"""The amplifier relay on a GPIO pin through gpiozero (the only module that imports gpiozero)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from gpiozero import GPIOZeroError, OutputDevice  # type: ignore[import-untyped]

from edge_agent.gpio import Relay, RelayError

log = logging.getLogger(__name__)


class GpioRelay(Relay):
    """Drive a relay module's input; off at start, off and released (an input again) on close."""

    def __init__(self, pin: int, *, active_high: bool = True, pin_factory: Any = None) -> None:
        self.pin = pin
        self._lock = threading.Lock()
        try:
            # initial_value=False: a restart must never switch the amplifier on by itself.
            self._device: Any = OutputDevice(
                pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
            )
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            raise RelayError(f"cannot drive relay on GPIO{pin}: {exc}") from exc
        self._closed = False

    @property
    def is_on(self) -> bool:
        """Return True while the relay is energised."""
        with self._lock:
            return not self._closed and bool(self._device.is_active)

    def on(self) -> None:
        """Energise the relay (amplifier on)."""
        with self._lock:
            if self._closed:
                raise RelayError(f"relay on GPIO{self.pin} is closed")
            if not self._device.is_active:
                log.info("amplifier relay on (GPIO%d)", self.pin)
                self._device.on()

    def off(self) -> None:
        """De-energise the relay (amplifier off)."""
        with self._lock:
            if not self._closed and self._device.is_active:
                log.info("amplifier relay off (GPIO%d)", self.pin)
                self._device.off()

    def close(self) -> None:
        """Switch off, then release the pin; released, it is an input and the module's pull keeps it off."""
        self.off()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._device.close()
