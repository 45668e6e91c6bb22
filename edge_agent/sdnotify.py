"""systemd's notify protocol, written out: one datagram to $NOTIFY_SOCKET (no extra dependency)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Send READY=1, WATCHDOG=1, STATUS=... to systemd; a no-op outside a Type=notify service."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace, spelled with a leading NUL byte.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_s = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        """Return True when running under systemd with a notify socket."""
        return bool(self.address)

    def notify(self, *assignments: str) -> bool:
        """Send "KEY=value" assignments in one datagram; return False if there is no socket or it failed."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                # Never block the main loop on a full socket queue: a lost ping is better than a hang.
                sock.setblocking(False)
                sock.sendto("\n".join(assignments).encode(), self.address)
        except OSError as exc:
            log.warning("sd_notify to %r failed: %s", self.address, exc)
            return False
        return True


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Return how often to send WATCHDOG=1 (half of WatchdogSec), or None if no watchdog is set."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # the watchdog is meant for another process (a parent that forked us)
    return int(usec) / 1e6 / 2
