"""The managed local Mosquitto process: start, reload, supervise (and renew its certificate), stop.

Mosquitto runs under a tether (broadcast/mqtt/tether.py) that stops it when this process dies, however
it dies, so a killed station never leaves a broker holding its ports and files.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time

from broadcast.mqtt.broker_files import (
    BrokerConfig,
    ensure_tls_files,
    render_config,
    running_pid,
    write_credentials,
)
from broadcast.mqtt.tether import Tethered, wait_for_port
from broadcast.storage.files import write_atomic

__all__ = [
    "BrokerConfig",
    "ManagedBroker",
    "find_mosquitto",
    "render_config",
    "running_pid",
    "wait_for_port",
    "write_credentials",
]

log = logging.getLogger(__name__)

CERT_CHECK_S = 6 * 3600  # how often a long-running broker checks whether its certificate needs renewing


def find_mosquitto(configured: str = "mosquitto") -> str:
    """Return the mosquitto executable; Debian installs it in /usr/sbin, often not on a user's PATH."""
    found = shutil.which(configured) or shutil.which(configured, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError(f"{configured!r} not found: install Mosquitto (apt-get install mosquitto)")
    return found


class ManagedBroker:
    """Run Mosquitto (through its tether) as a child process and restart it if it dies."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self._tether = Tethered("mosquitto", config.pid_path)
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """Return mosquitto's own pid (not the tether's): what CPU and signal tooling want."""
        return self._tether.pid

    @property
    def tether_pid(self) -> int | None:
        return self._tether.tether_pid

    def start(self, timeout: float = 10.0) -> None:
        """Write the config, start mosquitto, wait until it listens, and supervise it."""
        self.config.directory.mkdir(parents=True, exist_ok=True)
        files = None
        if self.config.tls_port is not None:
            files, reason = ensure_tls_files(self.config)
            if reason is not None:
                log.info("broker TLS certificate (re)issued: %s", reason)
        write_atomic(self.config.conf_path, render_config(self.config, files), mode=0o600)
        if not self.config.allow_anonymous and not self.config.passwd_path.exists():
            raise RuntimeError("broker credentials must be written before the broker starts")
        self._spawn(timeout)
        self._supervisor = threading.Thread(target=self._supervise, name="mosquitto-supervisor", daemon=True)
        self._supervisor.start()

    def _spawn(self, timeout: float) -> None:
        stale = running_pid(self.config)
        if stale is not None:
            log.warning("stopping a managed mosquitto left over from an earlier run (pid %s)", stale)
            os.kill(stale, signal.SIGTERM)
            time.sleep(0.3)
        mosquitto = find_mosquitto(self.config.executable)
        try:
            pid = self._tether.spawn([mosquitto, "-c", str(self.config.conf_path)], timeout)
        except RuntimeError:
            self.stop()
            raise
        host = self.config.station_host
        try:
            self._tether.wait_for_port(host, self.config.port, timeout)
            if self.config.tls_port is not None:
                self._tether.wait_for_port(self.config.device_host, self.config.tls_port, timeout)
        except TimeoutError:
            code = self._tether.returncode
            tail = self._log_tail()
            self.stop()
            raise RuntimeError(f"mosquitto did not start (exit {code}): {tail}") from None
        log.info("managed mosquitto pid %s listening on %s:%s", pid, host, self.config.port)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.config.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "(no log)"

    def _supervise(self) -> None:
        next_cert_check = time.monotonic() + CERT_CHECK_S
        while not self._stopping.wait(1.0):
            if self.config.tls_port is not None and time.monotonic() > next_cert_check:
                next_cert_check = time.monotonic() + CERT_CHECK_S
                self.renew_certificate()
            code = self._tether.returncode
            if code is None:
                continue
            log.error("mosquitto exited with %s; restarting: %s", code, self._log_tail())
            try:
                self._spawn(timeout=10.0)
                self.restarts += 1
            except (OSError, RuntimeError):
                log.exception("could not restart mosquitto")

    def renew_certificate(self) -> str | None:
        """Replace a certificate near its end (or naming other hosts); return why, None if it was good.

        Mosquitto re-reads certfile/keyfile on SIGHUP, so connected agents stay connected.
        """
        try:
            _, reason = ensure_tls_files(self.config)
        except (OSError, ValueError):
            log.exception("could not check the broker's TLS certificate")
            return None
        if reason is not None:
            log.warning("broker TLS certificate renewed (%s); reloading", reason)
            self.reload()
        return reason

    def reload(self) -> None:
        """Make the broker re-read passwd/acl (the tether passes SIGHUP on)."""
        self._tether.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """Kill the broker hard (tests use this to simulate a crash; the supervisor restarts it)."""
        self._tether.kill_child()  # the tether sees it die and exits likewise

    def stop(self) -> None:
        """Stop supervising and terminate the broker (it saves its persistence on SIGTERM)."""
        self._stopping.set()
        self._tether.stop()  # the tether stops mosquitto: SIGTERM, then SIGKILL after its grace
