"""Free TCP ports on localhost for test brokers and servers, reserved so no two users get the same one.

A port that is merely unbound when checked can be handed to two stations of one test, to two xdist
workers, or to two test runs at once. So each port given out is also claimed: a POSIX lock on byte
`port` of one file shared by every process on the machine. The claim lives as long as the claiming
process (the kernel drops it at exit, even after a crash), so a server may bind its port late or again.
Such locks never conflict within one process, hence the in-process set beside them.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import threading
from pathlib import Path

LOCK_FILE = Path(tempfile.gettempdir()) / "loa-xa-test-ports.lock"

# Below the kernel's ephemeral range, so an outgoing connection cannot take the port between this check
# and the server binding it.
_LOW, _HIGH = 20000, 32000

_held: set[int] = set()  # ports this process claimed
_lock_fd: int | None = None  # kept open: closing any descriptor of the file would drop every claim
_guard = threading.Lock()


def _ephemeral_low() -> int:
    """Return the first port the kernel hands out for outgoing connections (32768 if unknown)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def lock_fd() -> int:
    """Return this process's descriptor of the claims file (the only one it may open: see _lock_fd)."""
    global _lock_fd
    if _lock_fd is None:
        _lock_fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    return _lock_fd


def _claim(port: int) -> bool:
    """Take the machine-wide claim on `port`; False if another process holds it."""
    try:
        fcntl.lockf(lock_fd(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port, os.SEEK_SET)
    except OSError:
        return False
    _held.add(port)
    return True


def _unbound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a TCP port nothing listens on, claimed for this process so nobody else is given it."""
    high = min(_HIGH, _ephemeral_low() - 1)
    with _guard:
        for _ in range(500):
            port = random.randint(_LOW, high)
            if port in _held or not _claim(port):
                continue
            if _unbound(port):
                return port  # stays claimed: the server it is meant for may bind it later
            # Something that does not use these claims listens there; keep it claimed, so no one retries it.
    raise RuntimeError("no free port found")


def free_port_block(count: int) -> int:
    """Return the first of `count` consecutive free ports, all claimed (the live engine's port block)."""
    high = min(_HIGH, _ephemeral_low() - 1) - count
    with _guard:
        for _ in range(500):
            first = random.randint(_LOW, high)
            ports = range(first, first + count)
            if any(p in _held for p in ports):
                continue
            taken = [p for p in ports if _claim(p)]
            if len(taken) == count and all(_unbound(p) for p in ports):
                return first
            # A partial block stays claimed (released at exit): rare, and harmless with 12,000 ports.
    raise RuntimeError(f"no {count} consecutive free ports found")
