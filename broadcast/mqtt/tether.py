"""Run Mosquitto on a tether to the station: when the station dies, even by SIGKILL, the broker goes too.

    python -m broadcast.mqtt.tether --pidfile PATH -- mosquitto -c mosquitto.conf
    python -m broadcast.mqtt.tether --pidfile PATH --name snapserver --log FILE -- snapserver -c FILE

The managed snapserver (broadcast/snapcast/server.py) runs on the same tether: `--name` is the word the
tether's own messages use, `--log` a file the child's stdout and stderr are appended to (default: none).

The station starts this with a pipe on its stdin whose write end only the station holds and never writes
to. The kernel closes that end however the station ends (SIGKILL, OOM kill, crash), so EOF on stdin means
"the station is gone": the tether sends mosquitto SIGTERM (it saves its persistence), SIGKILL after a
grace period, removes the pid file and exits with mosquitto's status. SIGTERM from the station stops it
the same way; SIGHUP is passed on (mosquitto re-reads passwd/acl and its TLS certificate). The tether is
single-threaded, so it can safely set PR_SET_PDEATHSIG on mosquitto between fork and exec: should the
tether itself be killed, mosquitto still gets SIGTERM. The station itself sets no such thing: it has many
threads (preexec_fn is unsafe there) and the signal would fire when the spawning thread ends.

Mosquitto's pid goes to the pid file (which `broadcast device ...` commands read to send SIGHUP) and, as
one line, to stdout for the station. Standard library only; Linux only (prctl, pidfd).

`Tethered` is the station's side: it starts a command under a tether, learns the child's pid, passes
signals, and stops it (ManagedBroker and ManagedSnapserver each hold one and supervise it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from broadcast.storage.files import write_atomic

GRACE_S = 5.0  # mosquitto writes its persistence file on SIGTERM; that takes well under a second
_PR_SET_PDEATHSIG = 1
_TICK_S = 0.5


def _die_with_parent() -> Callable[[], None]:
    """Return a preexec_fn making the child get SIGTERM when this (single-threaded) process dies."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, only called after
    except (OSError, AttributeError):
        return lambda: None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return preexec


def _remove_pid(path: Path, pid: int) -> None:
    """Remove the pid file if it still names our mosquitto (a newer one may have replaced it)."""
    try:
        if int(path.read_text().strip()) == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


class _Tether:
    def __init__(self, command: list[str], grace_s: float, name: str, log: Path | None) -> None:
        self.grace_s = grace_s
        self.name = name
        self.kill_at: float | None = None
        output = log.open("ab") if log is not None else None
        try:
            self.child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output or subprocess.DEVNULL,
                stderr=output or subprocess.DEVNULL,
                preexec_fn=_die_with_parent(),  # safe: this process has one thread (see above)
            )
        finally:
            if output is not None:
                output.close()  # the child holds its own copy

    def stop(self, why: str = "") -> None:
        """Ask the child to end (once); the loop kills it if it has not after the grace period."""
        if self.kill_at is None and self.child.poll() is None:
            if why:  # the station's own stop is logged by the station
                print(
                    f"tether: {why}: stopping {self.name} (pid {self.child.pid})", file=sys.stderr, flush=True
                )
            self.child.terminate()
            self.kill_at = time.monotonic() + self.grace_s

    def run(self) -> int:
        """Watch stdin (the station) and the child until the child has ended; return its exit status."""
        try:
            exited: list[int] = [os.pidfd_open(self.child.pid)]  # readable once mosquitto has ended
        except (AttributeError, OSError):  # Linux < 5.3: look every tick instead
            exited = []
        watched = [0, *exited]
        while self.child.poll() is None:
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                self.child.kill()
            timeout = (
                _TICK_S if self.kill_at is None else max(0.0, min(_TICK_S, self.kill_at - time.monotonic()))
            )
            readable, _, _ = select.select(watched, [], [], timeout)
            if 0 in readable and not os.read(0, 4096):
                watched.remove(0)  # EOF: the station's end of the pipe is closed
                self.stop("the station is gone")
        code = self.child.returncode
        return code if code >= 0 else 128 - code


def pid_running(pid_path: Path, name: str) -> int | None:
    """Return the pid in `pid_path` if it names a live process whose command line contains `name`."""
    try:
        pid = int(pid_path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if name.encode() in cmdline else None


def wait_for_port(host: str, port: int, timeout: float, alive: Callable[[], bool] | None = None) -> None:
    """Block until host:port accepts connections; TimeoutError after `timeout` or once `alive()` is False."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.05)


class Tethered:
    """The station's side of a tether: start a command under it, know the child's pid, signal, stop it."""

    def __init__(self, name: str, pid_path: Path, log_path: Path | None = None) -> None:
        self.name = name
        self.pid_path = pid_path
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None  # the tether
        self._child_pid: int | None = None

    @property
    def pid(self) -> int | None:
        """Return the child's own pid (not the tether's): what CPU and signal tooling want."""
        return self._child_pid if self._process else None

    @property
    def tether_pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """Return the tether's exit status once it has ended (None while it runs, or before a spawn)."""
        return self._process.poll() if self._process is not None else None

    def spawn(self, command: Sequence[str], timeout: float) -> int:
        """Start `command` under a new tether; return the child's pid (RuntimeError if it did not start)."""
        self._release()
        tether = [sys.executable, "-m", "broadcast.mqtt.tether", "--pidfile", str(self.pid_path)]
        tether += ["--name", self.name, *(["--log", str(self.log_path)] if self.log_path else [])]
        self._process = subprocess.Popen(
            [*tether, "--", *command],
            # Only this process holds the pipe's write end and never writes: the tether takes its EOF as
            # this process's death. Not inherited by other children (os.pipe is close-on-exec).
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C reaches the station, which stops the child
        )
        self._child_pid = self._read_pid(timeout)
        return self._child_pid

    def _read_pid(self, timeout: float) -> int:
        """Return the pid the tether reports once the child is spawned (it writes the pid file too)."""
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
            raise RuntimeError(f"the {self.name} tether did not start it (exit {code})") from None

    def wait_for_port(self, host: str, port: int, timeout: float) -> None:
        """Block until the child listens on host:port; TimeoutError if not in time or if it ended."""
        wait_for_port(host, port, timeout, alive=lambda: self.running)

    def send_signal(self, signum: int) -> None:
        """Signal the tether (SIGHUP is passed on to the child; SIGTERM stops it)."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signum)

    def kill_child(self) -> None:
        """Kill the child hard (a crash, for tests): the tether sees it die and exits likewise."""
        if self.running and self._child_pid is not None:
            os.kill(self._child_pid, signal.SIGKILL)

    def stop(self) -> None:
        """Terminate the child through its tether (SIGTERM, SIGKILL after the grace) and wait for both."""
        process = self._process
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=GRACE_S * 2)
            except subprocess.TimeoutExpired:
                if self._child_pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self._child_pid, signal.SIGKILL)
                process.kill()
                process.wait(timeout=5)
        self._release()
        self.pid_path.unlink(missing_ok=True)

    def _release(self) -> None:
        """Close our end of a finished tether's pipe (one per restart would otherwise leak)."""
        process = self._process
        if process is not None and process.stdin is not None and process.poll() is not None:
            process.stdin.close()


def main(argv: list[str] | None = None) -> int:
    """Start the command, tethered; return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m broadcast.mqtt.tether")
    parser.add_argument("--pidfile", type=Path, required=True)
    parser.add_argument("--grace", type=float, default=GRACE_S, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("--name", default="mosquitto", help="what the tether's messages call the child")
    parser.add_argument("--log", type=Path, help="append the child's stdout and stderr to this file")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- mosquitto -c FILE")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the station's to handle
    tether = _Tether(command, args.grace, args.name, args.log)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            if tether.child.poll() is None:
                tether.child.send_signal(signal.SIGHUP)
        else:
            tether.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    write_atomic(args.pidfile, f"{tether.child.pid}\n", durable=False)
    os.write(1, f"{tether.child.pid}\n".encode())
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the station reads one line, then stops listening
    try:
        return tether.run()
    finally:
        _remove_pid(args.pidfile, tether.child.pid)


if __name__ == "__main__":
    sys.exit(main())
