"""Light listeners for the 1,000-listener run: Snapcast's binary protocol or plain HTTP, many per process.

A Snapcast listener does what snapclient does on the wire and nothing more: it sends Hello (26-byte
little-endian base header + size-prefixed JSON), reads CodecHeader / ServerSettings / WireChunk
messages, and sends a Time request every second (the server answers each). An HTTP listener GETs the
Icecast mount and counts bytes. Neither decodes audio, so one process holds hundreds of them.

Run as a process: python -m bench.live_listeners {snap|http} PORT COUNT RAMP_MAX_S WINDOW_S
It prints "ready" once every listener has had a chunk (or after RAMP_MAX_S), waits for a line on stdin,
then counts for WINDOW_S and prints one JSON line: connected, how long the ramp took, listeners still
receiving at the end, messages and bytes in the window.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import struct
import sys
import time
from typing import Any

HEADER = struct.Struct(
    "<HHHiiiiI"
)  # type, id, refersTo, sent.sec, sent.usec, received.sec, received.usec, size
WIRE_CHUNK, TIME, HELLO = 2, 4, 5
SWEEP_S = 0.1


def message(kind: int, payload: bytes, msg_id: int = 0) -> bytes:
    """Return one Snapcast binary message: the base header with a sent time, then the payload."""
    now = time.time()
    sec = int(now)
    return HEADER.pack(kind, msg_id, 0, sec, int((now - sec) * 1e6), 0, 0, len(payload)) + payload


def hello(host_id: str) -> bytes:
    """Return the Hello message a snapclient 0.26 sends."""
    body = {
        "Arch": "x86_64", "ClientName": "Snapclient", "HostName": host_id, "ID": host_id, "Instance": 1,
        "MAC": "00:00:00:00:00:00", "OS": "bench", "SnapStreamProtocolVersion": 2, "Version": "0.26.0",
    }  # fmt: skip
    text = json.dumps(body).encode()
    return message(HELLO, struct.pack("<I", len(text)) + text)


class Listener:
    """One connection: what it received; speaks Snapcast when snap is true."""

    def __init__(self, sock: socket.socket, snap: bool, host_id: str) -> None:
        self.sock, self.snap = sock, snap
        self.buf = bytearray()
        self.chunks = self.bytes = self.times = 0
        self.last = 0.0
        self.closed = False
        if snap:
            sock.sendall(hello(host_id))
        else:
            sock.sendall(b"GET /live HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n")
        sock.setblocking(False)

    def drain(self, now: float) -> None:
        """Take whatever the kernel holds for this socket; count bytes and, for Snapcast, messages."""
        if self.closed:
            return
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.bytes += len(data)
        self.last = now
        if not self.snap:
            self.chunks += 1
            return
        buf = self.buf
        buf += data
        pos = 0
        while len(buf) - pos >= HEADER.size:
            kind = buf[pos] | buf[pos + 1] << 8
            size = int.from_bytes(buf[pos + 22 : pos + 26], "little")
            if len(buf) - pos < HEADER.size + size:
                break
            if kind == WIRE_CHUNK:
                self.chunks += 1
            elif kind == TIME:
                self.times += 1
            pos += HEADER.size + size
        del buf[:pos]

    def ask_time(self, msg_id: int) -> None:
        """Send a Time request (latency 0) as snapclient does every second."""
        if self.snap and not self.closed:
            try:
                self.sock.send(message(TIME, b"\0" * 8, msg_id % 65536))
            except OSError:
                self.closed = True


def run(kind: str, port: int, count: int, ramp_max_s: float, window_s: float) -> dict[str, Any]:
    """Connect count listeners; say "ready" when all receive; on "go" (stdin) count what arrives in window_s.

    Sockets are swept every SWEEP_S (one recv each) rather than woken per message: 1,000 listeners
    at ~40 chunks/s each would cost Python a core in callbacks, and the kernel holds the bytes meanwhile.
    """
    snap = kind == "snap"
    listeners: list[Listener] = []
    failed = 0
    began = time.monotonic()
    for i in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), 5)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            listeners.append(Listener(sock, snap, f"bench-{os.getpid()}-{i}"))
        except OSError:
            failed += 1
        if i % 50 == 49:
            _sweep(listeners, 0)  # a real fleet connects over seconds; keep reading meanwhile
    tick = Ticker(snap)
    while any(li.chunks == 0 for li in listeners) and time.monotonic() - began < ramp_max_s:
        _sweep(listeners, tick.due())
        time.sleep(SWEEP_S)
    ramp_s = time.monotonic() - began
    print("ready", flush=True)
    go = selectors.DefaultSelector()
    go.register(sys.stdin, selectors.EVENT_READ)
    while not go.select(timeout=SWEEP_S):
        _sweep(listeners, tick.due())
    sys.stdin.readline()
    before = [(li.chunks, li.bytes) for li in listeners]
    start = time.monotonic()
    while time.monotonic() - start < window_s:
        _sweep(listeners, tick.due())
        time.sleep(SWEEP_S)
    now = time.monotonic()
    per = [li.chunks - b[0] for li, b in zip(listeners, before, strict=True)]
    return {
        "kind": kind,
        "asked": count,
        "connected": len(listeners),
        "connect_failed": failed,
        "ramp_s": round(ramp_s, 2),
        "dropped_by_server": sum(li.closed for li in listeners),
        "receiving_at_end": sum(now - li.last < 2.0 for li in listeners),
        "window_s": window_s,
        "messages_min": min(per, default=0),
        "messages_total": sum(per),
        "bytes_total": sum(li.bytes - b[1] for li, b in zip(listeners, before, strict=True)),
        "time_replies": sum(li.times for li in listeners),
    }


class Ticker:
    """Number the once-a-second Time requests."""

    def __init__(self, snap: bool) -> None:
        self.snap, self.n, self.next = snap, 0, time.monotonic()

    def due(self) -> int:
        """Return the next request number if one is due now, else 0."""
        if not self.snap or time.monotonic() < self.next:
            return 0
        self.n += 1
        self.next += 1.0
        return self.n


def _sweep(listeners: list[Listener], time_request: int) -> None:
    now = time.monotonic()
    for li in listeners:
        li.drain(now)
        if time_request:
            li.ask_time(time_request)


def main(argv: list[str]) -> int:
    """Run one process's listeners and print the JSON line."""
    kind, port, count, ramp, window = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), float(argv[4])
    print(json.dumps(run(kind, port, count, ramp, window)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
