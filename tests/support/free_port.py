"""A free TCP port on localhost for test brokers and servers."""

from __future__ import annotations

import random
import socket

# Below the kernel's ephemeral range (32768+), so an outgoing connection cannot take the port between
# this check and the server binding it.
_LOW, _HIGH = 20000, 32000


def free_port() -> int:
    """Return a TCP port that nothing listens on right now."""
    for _ in range(200):
        port = random.randint(_LOW, _HIGH)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")
