"""The managed snapserver: generated config, started and stopped with the station, supervised, tethered.

snapserver runs under the same tether as the managed Mosquitto (broadcast/mqtt/tether.py): a station
that dies, however it dies, takes its snapserver along, so no orphan keeps the live ports or plays on.
This is the one module that starts the snapserver executable.
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
from pathlib import Path

from broadcast.snapcast.config import LOOPBACK, SnapserverConfig, render_config
from broadcast.storage.files import write_atomic

__all__ = ["ManagedSnapserver", "find_snapserver", "running_pid"]

log = logging.getLogger(__name__)

RESTART_TIMEOUT_S = 10.0
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
    try:
        pid = int(cfg.pid_path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"snapserver" in cmdline else None


def _wait_for_port(port: int, timeout: float, alive: subprocess.Popen[bytes]) -> bool:
    """Return True once 127.0.0.1:port accepts connections; False at the timeout or if `alive` ended."""
    deadline = time.monotonic() + timeout
    while alive.poll() is None:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
    return False


class ManagedSnapserver:
    """Run snapserver (through its tether) as a child process and restart it if it dies."""

    def __init__(self, cfg: SnapserverConfig) -> None:
        self.cfg = cfg
        self._process: subprocess.Popen[bytes] | None = None  # the tether
        self._server_pid: int | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._lock = threading.Lock()  # one spawn or stop at a time
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """Return snapserver's own pid (not the tether's)."""
        return self._server_pid if self._process else None

    @property
    def tether_pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

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
        self._release()
        # snapserver would put a client it remembers back on the stream it last played, maybe a session
        # since ended: forgotten, every client starts on idle and the router moves it (clients, groups
        # and streams are the station's to decide, nothing in server.json needs keeping).
        (self.cfg.data_dir / "server.json").unlink(missing_ok=True)
        executable = find_snapserver(self.cfg.executable)
        tether = [
            *(sys.executable, "-m", "broadcast.mqtt.tether", "--name", "snapserver"),
            *("--pidfile", str(self.cfg.pid_path), "--log", str(self.cfg.log_path)),
        ]
        self._process = subprocess.Popen(
            [*tether, "--", executable, "-c", str(self.cfg.conf_path)],
            # Only this process holds the pipe's write end and never writes: the tether takes its EOF as
            # this process's death (see broadcast/mqtt/tether.py).
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C reaches the station, which stops snapserver
        )
        self._server_pid = self._read_pid(timeout)
        for port in (self.cfg.control_port, self.cfg.stream_port):
            if not _wait_for_port(port, timeout, self._process):
                code = self._process.poll()
                tail = self.log_tail()
                self._terminate()
                raise RuntimeError(f"snapserver did not start (exit {code}): {tail}")
        log.info(
            "managed snapserver pid %s: stream on %s:%s, control on %s:%s",
            *(self._server_pid, self.cfg.bind, self.cfg.stream_port, LOOPBACK, self.cfg.control_port),
        )

    def _read_pid(self, timeout: float) -> int:
        """Return the pid the tether reports once snapserver is spawned (it writes the pid file too)."""
        process = self._process
        assert process is not None and process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else b""
        process.stdout.close()
        try:
            return int(line.strip())
        except ValueError:
            code = process.poll()
            self._terminate()
            raise RuntimeError(f"the snapserver tether did not start it (exit {code})") from None

    def _release(self) -> None:
        """Close our end of a finished tether's pipe (one per restart would otherwise leak)."""
        process = self._process
        if process is not None and process.stdin is not None and process.poll() is not None:
            process.stdin.close()

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
        while not self._stopping.wait(0.5):
            with self._lock:
                process = self._process
                if self._stopping.is_set() or process is None or process.poll() is None:
                    continue
                log.error("snapserver exited with %s; restarting: %s", process.returncode, self.log_tail())
                try:
                    self._spawn(timeout=RESTART_TIMEOUT_S)
                    self.restarts += 1
                except (OSError, RuntimeError):
                    log.exception("could not restart snapserver")

    def kill(self) -> None:
        """Kill snapserver hard (tests simulate a crash with it; the supervisor restarts it)."""
        if self.running and self._server_pid is not None:
            os.kill(self._server_pid, signal.SIGKILL)  # the tether sees it die and exits likewise

    def stop(self) -> None:
        """Stop supervising and terminate snapserver."""
        self._stopping.set()
        with self._lock:
            self._terminate()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=5)

    def _terminate(self) -> None:
        process = self._process
        if process and process.poll() is None:
            process.terminate()  # the tether stops snapserver: SIGTERM, then SIGKILL after its grace
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                if self._server_pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self._server_pid, signal.SIGKILL)
                process.kill()
                process.wait(timeout=5)
        self._release()
        self.cfg.pid_path.unlink(missing_ok=True)
