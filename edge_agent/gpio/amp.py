"""When the amplifier is on: from pre-roll before each play until a hold time after the last one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from edge_agent.gpio import Relay

log = logging.getLogger(__name__)

_MAX_WAIT_S = 1.0  # re-check at least this often: a wall-clock step must not strand the relay


class AmpControl:
    """Keep the relay on while any reservation is due, off once none is and the hold time has run out.

    A reservation (one per play) switches the relay on at start_at - pre_roll_s, so the amplifier has
    settled (and thumped) before the audio starts exactly at start_at; releasing it when the play ends
    starts the hold time. Plays closer together than pre_roll + hold keep the amplifier on throughout.
    """

    def __init__(
        self,
        relay: Relay,
        pre_roll_s: float,
        hold_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.relay = relay
        self.pre_roll_s = pre_roll_s
        self.hold_s = hold_s
        self._clock = clock
        self._cond = threading.Condition()
        # key -> (switch-on time, time after which it is dropped even if never released)
        self._reservations: dict[str, tuple[float, float]] = {}
        self._released_at: float | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="amp", daemon=True)

    def start(self) -> None:
        """Start the thread that switches the relay."""
        self._thread.start()

    def is_alive(self) -> bool:
        """Return True while the switching thread runs."""
        return self._thread.is_alive()

    def reserve(self, key: str, start_at: float, until: float | None = None) -> None:
        """Need the amplifier from start_at - pre_roll_s until release(key) (or until, as a safety net)."""
        with self._cond:
            self._reservations[key] = (
                start_at - self.pre_roll_s,
                until if until is not None else float("inf"),
            )
            self._cond.notify_all()

    def retime(self, pre_roll_s: float, hold_s: float) -> None:
        """Use new pre-roll and hold times from now on (plays already reserved keep their switch-on time)."""
        with self._cond:
            self.pre_roll_s = pre_roll_s
            self.hold_s = hold_s
            self._cond.notify_all()

    def release(self, key: str) -> None:
        """The play ended (or will not happen): the hold time starts now unless other plays are due."""
        with self._cond:
            if self._reservations.pop(key, None) is not None:
                self._released_at = self._clock()
                self._cond.notify_all()

    def stop(self) -> None:
        """Switch off at once and release the pin (fail-safe on shutdown)."""
        with self._cond:
            self._stopping = True
            self._reservations.clear()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.relay.close()

    def _run(self) -> None:
        failing = False
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = self._clock()
                want, wake_at = self._decide(now)
                try:
                    if want and not self.relay.is_on:
                        self.relay.on()
                    elif not want and self.relay.is_on:
                        self.relay.off()
                    failing = False
                except Exception:
                    # A flaky GPIO must not kill the thread: the next pass tries again (logged once).
                    if not failing:
                        log.exception("relay switch failed")
                    failing = True
                timeout = _MAX_WAIT_S if wake_at is None else min(_MAX_WAIT_S, max(0.0, wake_at - now))
                self._cond.wait(timeout)

    def _decide(self, now: float) -> tuple[bool, float | None]:
        """Return whether the relay should be on now, and when that may next change."""
        for key, (_, until) in list(self._reservations.items()):
            if until <= now:
                log.warning("amplifier reservation %s was never released; dropping it", key)
                del self._reservations[key]
                self._released_at = now
        due = [on_at for on_at, _ in self._reservations.values() if on_at <= now]
        upcoming = [on_at for on_at, _ in self._reservations.values() if on_at > now]
        wakes = [*upcoming, *(until for _, until in self._reservations.values())]
        if due:
            return True, min(wakes, default=None)
        if self._released_at is not None and self.relay.is_on:
            hold_until = self._released_at + self.hold_s
            if now < hold_until:
                return True, min([*wakes, hold_until])
        return False, min(wakes, default=None)
