"""The station's writer into one live channel: raw PCM over TCP to snapserver's input on loopback.

`write()` only queues: a sender thread owns the socket. The queue holds at most `max_buffer_s` of
audio; when snapserver is slow or gone, the oldest audio is dropped (and counted) so what the speakers
hear never lags behind the microphone by more than that, and the caller (the browser's WebSocket
handler) is never held up. The sender reconnects on its own, backing off to 1 s.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
import threading

from broadcast.snapcast.config import LOOPBACK, channel_stream_name

__all__ = ["BYTES_PER_S", "ChannelInput", "channel_stream_name"]

log = logging.getLogger(__name__)

BYTES_PER_S = 48000 * 2  # the channels' sample format, 48000:16:1 (config.SnapserverConfig)


class ChannelInput:
    """Feed PCM (s16le mono 48 kHz) into snapserver's TCP input on `port`; never block the caller."""

    def __init__(self, port: int, *, host: str = LOOPBACK, max_buffer_s: float = 1.0) -> None:
        self.port = port
        self.host = host
        self.max_bytes = int(max_buffer_s * BYTES_PER_S)
        self._chunks: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._closed = False
        self._sock: socket.socket | None = None
        self.written = 0  # bytes handed to snapserver
        self.dropped = 0  # bytes dropped: queue full, or lost with a broken connection
        self.connects = 0
        self._thread = threading.Thread(target=self._run, name=f"snapcast-input-{port}", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    @property
    def queued(self) -> int:
        return self._queued

    def write(self, pcm: bytes) -> None:
        """Queue `pcm` (whole samples) for snapserver; drop the oldest queued audio beyond the bound."""
        if not pcm or self._closed:
            return
        if len(pcm) % 2:
            raise ValueError("PCM must be whole 16-bit samples (an even number of bytes)")
        with self._cond:
            self._chunks.append(bytes(pcm))
            self._queued += len(pcm)
            while self._queued > self.max_bytes and len(self._chunks) > 1:
                self._discard(self._chunks.popleft())
            self._cond.notify()

    def close(self) -> None:
        """Stop sending (queued audio is dropped) and close the connection."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def _discard(self, chunk: bytes) -> None:
        self._queued -= len(chunk)
        self.dropped += len(chunk)

    def _next(self) -> bytes | None:
        """Wait for queued audio; None once closed."""
        with self._cond:
            while not self._chunks and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            chunk = self._chunks.popleft()
            self._queued -= len(chunk)
            return chunk

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=1.0)
        except OSError:
            return None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A send that cannot finish in 2 s means snapserver stopped reading: drop it, reconnect.
        sock.settimeout(2.0)
        self.connects += 1
        return sock

    def _run(self) -> None:
        delay = 0.05
        while (chunk := self._next()) is not None:
            if self._sock is None:
                self._sock = self._connect()
                if self._sock is None:
                    self._discard_all(chunk)
                    with self._cond:  # wait before the next try, unless closed meanwhile
                        self._cond.wait_for(lambda: self._closed, timeout=delay)
                    delay = min(1.0, delay * 2)
                    continue
                delay = 0.05
            try:
                self._sock.sendall(chunk)
                self.written += len(chunk)
            except OSError as error:
                log.warning("live input %s: %s; reconnecting", self.port, error)
                self.dropped += len(chunk)
                self._sock.close()
                self._sock = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _discard_all(self, chunk: bytes) -> None:
        """Drop `chunk` and what is queued: no snapserver to take it (old audio must not play late)."""
        with self._cond:
            self.dropped += len(chunk)
            while self._chunks:
                self._discard(self._chunks.popleft())
