"""What the station and agent implementers must know about snapserver/snapclient 0.26, measured.

- `server_restart`: a snapclient plays; snapserver stops for `down_s` and comes back on the same ports.
  Does the client process survive, and how long after the restart until it plays again?
- `stream_switch`: two channels (ch1 silent, ch2 the test signal). Which stream does a new client's group
  get, and how long from Group.SetStream (JSON-RPC over TCP) until the client plays the new stream?
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from bench.live_procs import Client, Snapserver, Source, snapclient_cmd, tcp_sink


def rpc(port: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call one snapserver JSON-RPC method over its TCP control port; return the result."""
    request = {"id": 1, "jsonrpc": "2.0", "method": method, **({"params": params} if params else {})}
    with socket.create_connection(("127.0.0.1", port), 5) as conn:
        conn.sendall(json.dumps(request).encode() + b"\r\n")
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("control connection closed")
            data += chunk
            for line in data.split(b"\n")[:-1]:
                reply = json.loads(line)
                if reply.get("id") == 1:
                    if "error" in reply:
                        raise RuntimeError(str(reply["error"]))
                    return dict(reply["result"])


def _gap_end_after(client: Client, t: float) -> float | None:
    breaks = client.detector.gaps + client.detector.stalls
    ends = [start + length for start, length in breaks if start + length > t]
    first = client.detector.first_audio
    if first is not None and first > t:
        ends.append(first)
    return min(ends) - t if ends else None


def server_restart(buffer_ms: int, down_s: float = 3.0) -> dict[str, Any]:
    """Stop snapserver under a playing client, restart it after down_s; time the client's return."""
    server = Snapserver(buffer_ms).start()
    source = Source(tcp_sink(server.source_ports[0]))
    source.start()
    client = Client(snapclient_cmd(server.port, "bench-restart"), paced=True)
    client.start()
    try:
        time.sleep(4.0)
        source.stop()
        server.stop()
        stopped = time.monotonic()
        time.sleep(down_s)
        alive_while_down = client.proc.poll() is None
        server.start()
        restarted = time.monotonic()
        source = Source(tcp_sink(server.source_ports[0]))
        source.start()
        time.sleep(12.0)
        alive = client.proc.poll() is None
        client.finish()
        back = _gap_end_after(client, restarted)
        return {
            "buffer_ms": buffer_ms,
            "down_s": down_s,
            "client_alive_while_server_down": alive_while_down,
            "client_alive_after": alive,
            "silence_began_after_stop_s": _gap_start_after(client, stopped),
            "audio_back_after_restart_s": round(back, 2) if back is not None else None,
        }
    finally:
        client.proc.kill()  # a no-op once finish() reaped it
        source.stop()
        server.close()


def _gap_start_after(client: Client, t: float) -> float | None:
    starts = [start for start, _ in client.detector.gaps + client.detector.stalls if start > t - 1]
    return round(min(starts) - t, 2) if starts else None


def stream_switch(buffer_ms: int, rounds: int = 3) -> dict[str, Any]:
    """Report a new client's default stream and the Group.SetStream -> audio time, `rounds` times."""
    server = Snapserver(buffer_ms, channels=2).start()
    silence = Source(tcp_sink(server.source_ports[0]))
    silence.sink = _zeros(silence.sink)
    signal = Source(tcp_sink(server.source_ports[1]))
    silence.start()
    signal.start()
    client = Client(snapclient_cmd(server.port, "bench-switch"), paced=True)
    client.start()
    try:
        time.sleep(2.0)
        status = rpc(server.control_port, "Server.GetStatus")["server"]
        group = next(g for g in status["groups"] if any(c["id"] == "bench-switch" for c in g["clients"]))
        default_stream = group["stream_id"]
        took: list[float | None] = []
        for _ in range(rounds):
            rpc(server.control_port, "Group.SetStream", {"id": group["id"], "stream_id": "ch1"})
            time.sleep(2.0)
            asked = time.monotonic()
            rpc(server.control_port, "Group.SetStream", {"id": group["id"], "stream_id": "ch2"})
            time.sleep(3.0)
            took.append(_gap_end_after(client, asked))
        client.finish()
        return {
            "buffer_ms": buffer_ms,
            "streams": [s["id"] for s in status["streams"]],
            "default_stream_of_new_client": default_stream,
            "set_stream_to_audio_s": [round(t, 2) if t is not None else None for t in took],
        }
    finally:
        client.proc.kill()
        silence.stop()
        signal.stop()
        server.close()


def _zeros(sink: Any) -> Any:
    def write(pcm: bytes) -> None:
        sink(b"\0" * len(pcm))

    return write
