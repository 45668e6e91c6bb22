"""The managed local Mosquitto process: start, reload, supervise (and renew its certificate), stop.

Mosquitto runs under a tether (broadcast/mqtt/tether.py) that stops it when this process dies, however
it dies, so a killed station never leaves a broker holding its ports and files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from broadcast.mqtt.broker_files import (
    BrokerConfig,
    ensure_tls_files,
    render_config,
    running_pid,
    write_credentials,
)
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


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until host:port accepts TCP connections, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.05)


class ManagedBroker:
    """Run Mosquitto (through its tether) as a child process and restart it if it dies."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None  # the tether
        self._broker_pid: int | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """Return mosquitto's own pid (not the tether's): what CPU and signal tooling want."""
        return self._broker_pid if self._process else None

    @property
    def tether_pid(self) -> int | None:
        return self._process.pid if self._process else None

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
        self._release()
        mosquitto = find_mosquitto(self.config.executable)
        tether = [sys.executable, "-m", "broadcast.mqtt.tether", "--pidfile", str(self.config.pid_path)]
        self._process = subprocess.Popen(
            [*tether, "--", mosquitto, "-c", str(self.config.conf_path)],
            # Only this process holds the pipe's write end and never writes: the tether takes its EOF as
            # this process's death. Not inherited by other children (os.pipe is close-on-exec).
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C reaches the station, which stops the broker
        )
        self._broker_pid = self._read_pid(timeout)
        host = self.config.station_host
        try:
            wait_for_port(host, self.config.port, timeout)
            if self.config.tls_port is not None:
                wait_for_port(self.config.device_host, self.config.tls_port, timeout)
        except TimeoutError:
            code = self._process.poll()
            tail = self._log_tail()
            self.stop()
            raise RuntimeError(f"mosquitto did not start (exit {code}): {tail}") from None
        log.info("managed mosquitto pid %s listening on %s:%s", self._broker_pid, host, self.config.port)

    def _read_pid(self, timeout: float) -> int:
        """Return the pid the tether reports once mosquitto is spawned (it writes the pid file too)."""
        process = self._process
        assert process is not None and process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else b""
        process.stdout.close()
        try:
            return int(line.strip())
        except ValueError:
            code = process.poll()
            self.stop()
            raise RuntimeError(f"the mosquitto tether did not start it (exit {code})") from None

    def _release(self) -> None:
        """Close our end of a finished tether's pipe (one per restart would otherwise leak)."""
        process = self._process
        if process is not None and process.stdin is not None and process.poll() is not None:
            process.stdin.close()

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
            process = self._process
            if process is None or process.poll() is None:
                continue
            log.error("mosquitto exited with %s; restarting: %s", process.returncode, self._log_tail())
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
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """Kill the broker hard (tests use this to simulate a crash; the supervisor restarts it)."""
        if self._process and self._process.poll() is None and self._broker_pid is not None:
            os.kill(self._broker_pid, signal.SIGKILL)  # the tether sees it die and exits likewise

    def stop(self) -> None:
        """Stop supervising and terminate the broker (it saves its persistence on SIGTERM)."""
        self._stopping.set()
        process = self._process
        if process and process.poll() is None:
            process.terminate()  # the tether stops mosquitto: SIGTERM, then SIGKILL after its grace
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                if self._broker_pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self._broker_pid, signal.SIGKILL)
                process.kill()
                process.wait(timeout=5)
        self._release()
        self.config.pid_path.unlink(missing_ok=True)
