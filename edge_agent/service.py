"""The main loop under systemd: READY=1 once connected, WATCHDOG=1 only while the agent is healthy."""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from edge_agent.sdnotify import Notifier

log = logging.getLogger(__name__)

# A Pi whose 4G link is down at boot must still count as started and play its cached programme: READY
# waits for the broker this long at most (well under the unit's TimeoutStartSec).
READY_TIMEOUT_S = 20.0


class Supervised(Protocol):
    """What the loop asks of the agent."""

    def healthy(self) -> bool:
        """Return True while all of its threads run."""
        ...

    def connected(self) -> bool:
        """Return True while the broker link is up."""
        ...


def supervise(
    agent: Supervised,
    stop: threading.Event,
    notifier: Notifier,
    *,
    ready_timeout_s: float = READY_TIMEOUT_S,
    tick_s: float = 1.0,
) -> None:
    """Run until stop is set, telling systemd about readiness, liveness and the broker link."""
    started = time.monotonic()
    ready = False
    last_link: bool | None = None
    last_watchdog = float("-inf")
    warned = False
    while True:
        now = time.monotonic()
        link = agent.connected()
        if not ready and (link or now - started >= ready_timeout_s):
            ready = True
            notifier.notify("READY=1", _status(link))
            last_link = link
        elif ready and link != last_link:
            notifier.notify(_status(link))
            last_link = link
        if notifier.watchdog_s is not None and now - last_watchdog >= notifier.watchdog_s:
            # A dead player or network thread must end in a restart, not in a silent speaker.
            if agent.healthy():
                notifier.notify("WATCHDOG=1")
                last_watchdog = now
            elif not warned:
                warned = True
                log.error("a worker thread died; withholding the watchdog ping so systemd restarts us")
        if stop.wait(tick_s):
            notifier.notify("STOPPING=1")
            return


def _status(link: bool) -> str:
    return "STATUS=" + ("connected to the broker" if link else "broker unreachable; playing from cache")
