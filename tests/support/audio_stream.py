"""A local live-audio HTTP stream (like VOV's Icecast mounts): an endless MP3 sent at real-time pace.

`AudioStreamServer(mp3_frames)` serves `GET /live.mp3` as a chunked HTTP/1.1 response that loops the
frames for ever, paced to the bitrate, with an optional burst on connect (Icecast sends a few seconds at
once so players fill their buffer). `/drop.mp3` streams like `/live.mp3` but closes its first connection
after `drop_after_s` (a dropped link mid-relay); `/gone.mp3` drops the same way and then answers 404 (a
station that went off the air); anything else is 404 (a stream that cannot be opened).
"""

from __future__ import annotations

import contextlib
import http.server
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

BITRATE = 48_000  # bits/s of the generated MP3 (CBR, so bytes map linearly to seconds)
SAMPLE_RATE = 22_050
_CHUNK_S = 0.05


def make_stream_mp3(ffmpeg: str, path: Path, seconds: float = 10.0, frequency: float = 440.0) -> Path:
    """Write a raw CBR MP3 (no ID3 tag, no Xing frame) that can be looped byte for byte."""
    subprocess.run(
        [
            ffmpeg,
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency}:duration={seconds}:sample_rate={SAMPLE_RATE}",
            "-ac",
            "1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            str(BITRATE),
            "-id3v2_version",
            "0",
            "-write_xing",
            "0",
            "-f",
            "mp3",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            dropping = path in ("/drop.mp3", "/gone.mp3")
            self.server.drop_connections[path] = self.server.drop_connections.get(path, 0) + dropping
            first = self.server.drop_connections[path] == 1
            serve = path in ("/live.mp3", "/drop.mp3") or (path == "/gone.mp3" and first)
            self.server.connections += serve
        if not serve:
            self.send_error(404, "no such mount")
            return
        drop_after = self.server.drop_after_s if dropping and first else None
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        # The listener hanging up is normal: a relay ends on time.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._stream(drop_after)

    def _stream(self, drop_after: float | None) -> None:
        data = self.server.data
        rate = BITRATE / 8
        started = time.monotonic()
        sent = 0.0
        offset = 0
        burst = rate * self.server.burst_s
        while not self.server.closing.is_set():
            elapsed = time.monotonic() - started
            if drop_after is not None and elapsed >= drop_after:
                self.close_connection = True
                return  # no terminating chunk: the connection just ends, as when a link drops
            due = int(burst + elapsed * rate - sent)
            if due <= 0:
                time.sleep(_CHUNK_S)
                continue
            chunk = bytearray()
            while len(chunk) < due:
                piece = data[offset : offset + due - len(chunk)]
                chunk += piece
                offset = (offset + len(piece)) % len(data)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), bytes(chunk)))
            self.wfile.flush()
            sent += len(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    data: bytes
    burst_s: float
    drop_after_s: float
    connections: int
    drop_connections: dict[str, int]
    lock: threading.Lock
    closing: threading.Event


class AudioStreamServer:
    """Serve an endless real-time MP3 stream on 127.0.0.1 in a background thread."""

    def __init__(self, mp3: Path, *, burst_s: float = 0.0, drop_after_s: float = 1.0) -> None:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.data = mp3.read_bytes()
        server.burst_s = burst_s
        server.drop_after_s = drop_after_s
        server.connections = 0
        server.drop_connections = {}
        server.lock = threading.Lock()
        server.closing = threading.Event()
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        """Return how many stream requests were answered with audio so far."""
        with self._server.lock:
            return self._server.connections

    def close(self) -> None:
        """End every stream and stop listening."""
        self._server.closing.set()
        self._server.shutdown()
        self._server.server_close()
