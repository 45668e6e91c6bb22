"""The managed snapserver: generated config, started and stopped with the station, supervised, tethered.

snapserver runs under the same tether as the managed Mosquitto (broadcast/mqtt/tether.py): a station
that dies, however it dies, takes its snapserver along, so no orphan keeps the live ports or plays on.
This is the one module that starts the snapserver executable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
import time

from broadcast.mqtt.tether import Tethered, pid_running
from broadcast.snapcast.config import LOOPBACK, SnapserverConfig, render_config
from broadcast.storage.files import write_atomic

__all__ = ["ManagedSnapserver", "find_snapserver", "running_pid"]

log = logging.getLogger(__name__)

RESTART_TIMEOUT_S = 10.0
_CHECK_S = 0.5  # how often the supervisor looks; a crash costs the live audio about this much more
_RETRY_MAX_S = 30.0  # a snapserver that keeps failing to start is retried at most this far apart
_LOG_KEEP_BYTES = 1_000_000  # a start keeps the end of the last run's log (why it died), not all runs


def find_snapserver(configured: str = "snapserver") -> str:
    """Return the snapserver executable, or raise RuntimeError saying how to install it."""
    found = shutil.which(configured) or shutil.which(configured, path="/usr/bin:/usr/sbin:/usr/local/bin")
    if found is None:
        raise RuntimeError(
            f"{configured!r} not found: live broadcasts need snapserver (apt-get install snapserver), "
            "or set BROADCAST_LIVE_ENGINE=off"
        )
    return found


def running_pid(cfg: SnapserverConfig) -> int | None:
    """Return the pid of the managed snapserver if its pid file names a live snapserver."""
    return pid_running(cfg.pid_path, "snapserver")


class ManagedSnapserver:
    """Run snapserver (through its tether) as a child process and restart it if it dies."""

    def __init__(self, cfg: SnapserverConfig) -> None:
        self.cfg = cfg
        self._tether = Tethered("snapserver", cfg.pid_path, cfg.log_path)
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._lock = threading.Lock()  # one spawn or stop at a time
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """Return snapserver's own pid (not the tether's)."""
        return self._tether.pid

    @property
    def tether_pid(self) -> int | None:
        return self._tether.tether_pid

    @property
    def running(self) -> bool:
        return self._tether.running

    def start(self, timeout: float = 10.0) -> None:
        """Write the config, start snapserver, wait until its control and stream ports listen, supervise."""
        state = self.cfg.state_dir
        state.mkdir(parents=True, exist_ok=True)
        # snapserver creates the idle fifo writable by all: the directory keeps other users out of it.
        state.chmod(0o700)
        self.cfg.data_dir.mkdir(exist_ok=True)
        write_atomic(self.cfg.conf_path, render_config(self.cfg), mode=0o600)
        self._trim_log()
        self._stopping.clear()
        with self._lock:
            self._spawn(timeout)
        self._supervisor = threading.Thread(target=self._supervise, name="snapserver-supervisor", daemon=True)
        self._supervisor.start()

    def _spawn(self, timeout: float) -> None:
        stale = running_pid(self.cfg)
        if stale is not None:
            log.warning("stopping a managed snapserver left over from an earlier run (pid %s)", stale)
            with contextlib.suppress(ProcessLookupError):
                os.kill(stale, signal.SIGTERM)
            time.sleep(0.3)
        # snapserver would put a client it remembers back on the stream it last played, maybe a session
        # since ended: forgotten, every client starts on idle and the router moves it (clients, groups
        # and streams are the station's to decide, nothing in server.json needs keeping).
        (self.cfg.data_dir / "server.json").unlink(missing_ok=True)
        executable = find_snapserver(self.cfg.executable)
        pid = self._tether.spawn([executable, "-c", str(self.cfg.conf_path)], timeout)
        try:
            self._tether.wait_for_port(LOOPBACK, self.cfg.control_port, timeout)
            self._tether.wait_for_port(self.cfg.stream_host, self.cfg.stream_port, timeout)
        except TimeoutError:
            code = self._tether.returncode
            tail = self.log_tail()
            self._tether.stop()
            raise RuntimeError(f"snapserver did not start (exit {code}): {tail}") from None
        log.info(
            "managed snapserver pid %s: stream on %s:%s, control on %s:%s",
            *(pid, self.cfg.bind, self.cfg.stream_port, LOOPBACK, self.cfg.control_port),
        )

    def _trim_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.cfg.log_path.stat().st_size > _LOG_KEEP_BYTES:
                with self.cfg.log_path.open("rb") as handle:
                    handle.seek(-_LOG_KEEP_BYTES // 2, os.SEEK_END)
                    tail = handle.read()
                write_atomic(self.cfg.log_path, tail, durable=False)

    def log_tail(self, lines: int = 5) -> str:
        """Return the last lines snapserver logged (for error messages)."""
        try:
            return " | ".join(self.cfg.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _supervise(self) -> None:
        delay = _CHECK_S
        while not self._stopping.wait(delay):
            with self._lock:
                code = self._tether.returncode
                if self._stopping.is_set() or code is None:
                    continue
                log.error("snapserver exited with %s; restarting: %s", code, self.log_tail())
                try:
                    self._spawn(timeout=RESTART_TIMEOUT_S)
                    self.restarts += 1
                    delay = _CHECK_S
                except (OSError, RuntimeError):
                    delay = min(_RETRY_MAX_S, delay * 2)
                    log.exception("could not restart snapserver; next try in %.0f s", delay)

    def kill(self) -> None:
        """Kill snapserver hard (tests simulate a crash with it; the supervisor restarts it)."""
        self._tether.kill_child()

    def stop(self) -> None:
        """Stop supervising and terminate snapserver."""
        self._stopping.set()
        with self._lock:
            self._tether.stop()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=5)
